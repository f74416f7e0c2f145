//! A `SyncState` stored by this version keeps parsing in every later one: the v1 texts of
//! tests/fixtures/sync_state/ (never edited, only added to) are read with the values they
//! held when they were written. When a newer form is introduced, its fixture file is added
//! beside and this test keeps reading the old ones.

use mailwire::Flag;
use mailwire::imap::SyncState;

fn stored(file: &str) -> Vec<String> {
    let path = format!(
        "{}/tests/fixtures/sync_state/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn uids(state: &SyncState) -> Vec<u32> {
    state.known_uids().iter().collect()
}

#[test]
fn every_stored_v1_state_reads_as_it_was_written() {
    let texts = stored("v1.txt");
    assert_eq!(texts.len(), 4, "a fixture line was removed");
    let states: Vec<SyncState> = texts
        .iter()
        .map(|t| t.parse().unwrap_or_else(|e| panic!("{t}: {e}")))
        .collect();

    // A folder never synced.
    let s = &states[0];
    assert_eq!(s.folder(), "INBOX");
    assert!(s.is_initial());
    assert_eq!(
        (s.uid_validity(), s.uid_next(), s.highest_modseq()),
        (None, None, None)
    );
    assert_eq!(s.message_count(), 0);

    // A QRESYNC / CONDSTORE state with two flag groups.
    let s = &states[1];
    assert_eq!(s.folder(), "INBOX");
    assert_eq!(s.uid_validity(), Some(1_716_000_000));
    assert_eq!(s.uid_next(), Some(501));
    assert_eq!(s.highest_modseq(), Some(812));
    assert_eq!(s.message_count(), 500);
    assert_eq!(s.flags(1), Some(vec![Flag::Seen]));
    assert_eq!(s.flags(305), Some(vec![Flag::Seen]));
    assert_eq!(s.flags(202), Some(vec![Flag::Flagged, Flag::Seen]));
    assert_eq!(s.flags(300), Some(vec![]));
    assert_eq!(s.flags(501), None);

    // A percent-encoded non-ASCII folder name, a keyword, UIDs with holes.
    let s = &states[2];
    assert_eq!(s.folder(), "Archive/2024 Grüße");
    assert_eq!(s.uid_validity(), Some(7));
    assert_eq!(s.highest_modseq(), None);
    assert_eq!(uids(s), vec![1, 2, 3, 7, 8, 9]);
    let mut two = s.flags(2).unwrap();
    two.sort_by_key(|f| f.to_string());
    assert_eq!(two, vec![Flag::Keyword("$Label1".into()), Flag::Answered]);
    assert_eq!(s.flags(9), Some(vec![Flag::Deleted]));
    assert_eq!(s.flags(3), Some(vec![]));
    assert_eq!(s.flags(5), None);

    // The largest values each field can hold.
    let s = &states[3];
    assert_eq!(s.folder(), "[Gmail]/Sent Mail");
    assert_eq!(s.uid_validity(), Some(u32::MAX));
    assert_eq!(s.uid_next(), Some(u32::MAX));
    assert_eq!(s.highest_modseq(), Some(u64::MAX));
    assert_eq!(
        uids(s),
        (4_294_967_290..=4_294_967_294).collect::<Vec<u32>>()
    );
}

#[test]
fn this_version_still_writes_the_v1_form_it_reads() {
    // While the written form is v1, what is read is written back byte for byte (a column
    // compared before and after a no-op sync does not change). When a newer form is
    // written, this test becomes: each v1 text reads, and its re-written form reads back
    // equal.
    for text in stored("v1.txt") {
        let state: SyncState = text.parse().unwrap();
        assert_eq!(state.to_string(), text);
        assert_eq!(state.to_string().parse::<SyncState>().unwrap(), state);
    }
}
