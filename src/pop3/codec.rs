//! The pure POP3 protocol layer (in progress).
