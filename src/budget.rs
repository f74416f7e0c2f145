//! A memory budget shared by many connections: one process-wide bound on the bytes their
//! response buffers hold, however many connections there are.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A bound on the bytes that the response buffers of every connection using it hold
/// together. Per-connection [`Limits`](crate::Limits) bound one connection; thousands of
/// connections times a 256 MiB literal limit bound nothing, so a service that holds many
/// connections gives them one budget ([`ConfigBuilder::memory_budget`](crate::ConfigBuilder::memory_budget)).
///
/// A command that needs more room than the budget has left fails with
/// [`Error::LimitExceeded`](crate::Error::LimitExceeded) (and its connection is closed,
/// giving its room back); other connections and the process go on. What a call hands to
/// the caller (a fetched [`Message`](crate::Message)) leaves the budget: the budget bounds
/// what the library buffers, not what the application keeps.
///
/// Covered: the IMAP response buffer of each connection (lines, literals held in memory),
/// and a POP3 message or answer read into memory while it is read. Cloning is cheap and
/// shares the budget.
///
/// ```
/// use mailwire::{Config, MemoryBudget};
///
/// let budget = MemoryBudget::new(512 * 1024 * 1024);
/// let config = Config::builder("imap.example.com")
///     .login("alice", "secret")
///     .memory_budget(&budget)
///     .build()?;
/// assert_eq!(budget.used(), 0);
/// # Ok::<(), mailwire::Error>(())
/// ```
#[derive(Clone)]
pub struct MemoryBudget {
    inner: Arc<Inner>,
}

struct Inner {
    limit: u64,
    used: AtomicU64,
    peak: AtomicU64,
}

impl MemoryBudget {
    /// A budget of `bytes` in all.
    pub fn new(bytes: u64) -> MemoryBudget {
        MemoryBudget {
            inner: Arc::new(Inner {
                limit: bytes,
                used: AtomicU64::new(0),
                peak: AtomicU64::new(0),
            }),
        }
    }

    /// The bound.
    pub fn limit(&self) -> u64 {
        self.inner.limit
    }

    /// The bytes held now by every connection using the budget.
    pub fn used(&self) -> u64 {
        self.inner.used.load(Ordering::Relaxed)
    }

    /// The most bytes held at once since the budget was made.
    pub fn peak(&self) -> u64 {
        self.inner.peak.load(Ordering::Relaxed)
    }

    /// Whether two handles share one budget.
    pub fn same_as(&self, other: &MemoryBudget) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// An identity for the pool's reuse key: equal for handles of one budget.
    pub(crate) fn identity(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// Takes `n` bytes of the budget; false (and nothing taken) when fewer are left.
    pub(crate) fn try_reserve(&self, n: u64) -> bool {
        let mut used = self.inner.used.load(Ordering::Relaxed);
        loop {
            let Some(next) = used.checked_add(n).filter(|&next| next <= self.inner.limit) else {
                return false;
            };
            match self.inner.used.compare_exchange_weak(
                used,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.inner.peak.fetch_max(next, Ordering::Relaxed);
                    return true;
                }
                Err(now) => used = now,
            }
        }
    }

    /// Takes `n` bytes even past the limit (storage that already exists must be counted).
    pub(crate) fn charge(&self, n: u64) {
        let next = self
            .inner
            .used
            .fetch_add(n, Ordering::AcqRel)
            .saturating_add(n);
        self.inner.peak.fetch_max(next, Ordering::Relaxed);
    }

    /// Gives `n` bytes back.
    pub(crate) fn release(&self, n: u64) {
        let _ = self
            .inner
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(n))
            });
    }
}

impl fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBudget")
            .field("limit", &self.limit())
            .field("used", &self.used())
            .field("peak", &self.peak())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserves_up_to_the_limit_and_gives_back() {
        let budget = MemoryBudget::new(100);
        assert!(budget.try_reserve(60));
        assert!(!budget.try_reserve(41), "60 + 41 is over 100");
        assert!(budget.clone().try_reserve(40), "clones share the budget");
        assert_eq!(budget.used(), 100);
        budget.release(70);
        assert_eq!(budget.used(), 30);
        assert_eq!(budget.peak(), 100);
        assert!(!budget.try_reserve(u64::MAX), "no overflow");
    }
}
