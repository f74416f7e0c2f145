//! Uncontended checkout + return on a warm pool (one idle connection reused each time).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mailwire::pool::{AccountKey, Manage, Pool, PoolOptions, ReuseKey};

struct Manager;

struct Target {
    user: String,
    password: String,
}

impl Manage for Manager {
    type Target = Target;
    type Connection = u64;

    fn reuse_key(&self, t: &Target) -> ReuseKey {
        ReuseKey::new(
            AccountKey::new("imap.example.com", 993, &t.user),
            &("imap+tls", &t.password),
        )
    }

    fn connect(&self, _: &Target) -> mailwire::Result<u64> {
        Ok(7)
    }

    fn is_valid(&self, _: &mut u64) -> mailwire::Result<()> {
        Ok(())
    }

    fn has_broken(&self, conn: &mut u64) -> bool {
        *conn == 0
    }
}

fn checkout(c: &mut Criterion) {
    let pool = Pool::new(Manager, PoolOptions::new()).expect("pool");
    let target = Target {
        user: "alice@example.com".into(),
        password: "app-password".into(),
    };
    drop(pool.get(&target).expect("warm-up"));
    c.bench_function("pool get + drop (uncontended, warm)", |b| {
        b.iter(|| {
            let conn = pool.get(black_box(&target)).expect("checkout");
            black_box(*conn);
        })
    });
}

criterion_group!(benches, checkout);
criterion_main!(benches);
