//! Memory and time of building sets and reading stored sync states (issue 15, items 1 and
//! 11), measured with a counting allocator local to each test's thread.
//!
//! - Collecting numbers into a `SequenceSet` merges as it goes: memory follows the ranges
//!   of the result, never the count of numbers (before: every number was first collected
//!   into a `Vec<u32>`, 4 bytes each).
//! - `SyncState::from_str` is linear in its text and allocates a bounded multiple of it
//!   (before: quadratic in the number of flag groups, 80,000 groups took 13.9 s).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use mailwire::imap::{SequenceSet, SyncState, Uids};

/// Counts the bytes allocated by the current thread and their peak.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the most bytes it held at once (beyond what the
/// thread held before).
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    let peak = PEAK.with(Cell::get) - base;
    (out, usize::try_from(peak).unwrap_or(0))
}

#[test]
fn collecting_fifty_million_numbers_holds_ranges_not_numbers() {
    let n = 50_000_000u32;
    let (set, peak) = peak_of(|| (1..=n).collect::<SequenceSet>());
    assert_eq!(set, SequenceSet::range(1, n));
    assert!(peak < 64 * 1024, "collecting held {peak} bytes");
    // Descending, and as Extend, and as Uids from a SequenceSet of them: the same.
    let (set, peak) = peak_of(|| (1..=n).rev().collect::<SequenceSet>());
    assert_eq!(set.ranges().len(), 1);
    assert!(peak < 64 * 1024, "collecting backwards held {peak} bytes");
    let (set, peak) = peak_of(|| {
        let mut s = SequenceSet::single(0);
        s.extend(1..=n);
        s
    });
    assert_eq!(set, SequenceSet::range(0, n));
    assert!(peak < 64 * 1024, "extend held {peak} bytes");
    // Evens, then odds: the evens alone are a million ranges, which must be held (16
    // bytes each, with room to grow); nothing proportional to the numbers beyond that.
    let (set, peak) = peak_of(|| {
        let mut s: SequenceSet = (1..=1_000_000u32).map(|i| 2 * i).collect();
        s.extend((0..1_000_000u32).map(|i| 2 * i + 1));
        s
    });
    assert_eq!(set, SequenceSet::range(1, 2_000_000));
    assert!(peak <= 64 * 1_000_000, "evens then odds held {peak} bytes");
    let (uids, peak) = peak_of(|| Uids::from(SequenceSet::range(1, u32::MAX)));
    assert_eq!(uids.len() as u64, u64::from(u32::MAX));
    assert!(peak < 1024, "{peak}");
}

/// A stored state with `groups` flag groups, one keyword per message, on the odd UIDs
/// (so that the known UIDs, and the UIDs the groups cover, are as fragmented as they get:
/// what made the old parser quadratic).
fn many_groups(groups: u32) -> String {
    let uids: Vec<String> = (0..groups).map(|i| (2 * i + 1).to_string()).collect();
    let mut text = format!(
        "v1;folder=INBOX;uidvalidity=7;uidnext={};modseq=9;uids={};flags=",
        2 * groups + 1,
        uids.join(",")
    );
    for i in 0..groups {
        if i > 0 {
            text.push('/');
        }
        write!(text, "\\Seen+kw{i}={}", 2 * i + 1).unwrap();
    }
    text
}

#[test]
fn sync_state_with_100000_flag_groups_parses_in_linear_time_and_memory() {
    let text = many_groups(100_000);
    let started = Instant::now();
    let (state, peak) = peak_of(|| text.parse::<SyncState>().unwrap());
    let took = started.elapsed();
    println!(
        "parsed {} bytes, 100,000 groups, in {took:?} holding at most {peak} bytes",
        text.len()
    );
    // Generous: the quadratic parser needed minutes here, the linear one milliseconds.
    assert!(took < Duration::from_secs(10), "parsing took {took:?}");
    assert!(
        peak <= 40 * text.len(),
        "parsing {} bytes held {peak} bytes",
        text.len()
    );
    assert_eq!(state.message_count(), 100_000);
    assert_eq!(state.flags(4242), None);
    assert_eq!(
        state.flags(2 * 4241 + 1),
        Some(vec![
            mailwire::imap::Flag::Seen,
            mailwire::imap::Flag::Keyword("kw4241".into())
        ])
    );
    // Round trip: the text form is canonical (groups sorted by flags), and reads back.
    let again = state.to_string();
    assert_eq!(again.len(), text.len());
    let back: SyncState = again.parse().unwrap();
    assert_eq!(back, state);
    assert_eq!(back.to_string(), again);
}

#[test]
fn hostile_stored_states_are_refused_without_allocating_beyond_their_size() {
    let overlap = many_groups(50_000).replace("=99999", "=99997");
    let unknown = many_groups(50_000).replace("=99999", "=99998");
    let huge_range = "v1;folder=INBOX;uidvalidity=7;uidnext=;modseq=;uids=1:4294967295;flags=";
    let long_name = format!(
        "v1;folder=INBOX;uidvalidity=7;uidnext=;modseq=;uids=1;flags={}=1",
        "%".repeat(200_000)
    );
    for text in [overlap, unknown, huge_range.to_string(), long_name] {
        let started = Instant::now();
        let (result, peak) = peak_of(|| text.parse::<SyncState>());
        println!("refused {} bytes holding at most {peak} bytes", text.len());
        assert!(started.elapsed() < Duration::from_secs(10));
        match result {
            Err(mailwire::Error::InvalidInput { what, reason }) => {
                assert_eq!(what, "sync state");
                assert!(reason.len() < 200, "the error copies the input: {reason}");
            }
            other => panic!("accepted: {other:?}"),
        }
        assert!(peak <= 40 * text.len(), "{} bytes held {peak}", text.len());
    }
}
