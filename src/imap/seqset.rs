//! Sequence sets and UID sets (in progress).
