//! Transport: TCP and TLS streams, deadlines, STARTTLS, line reading, retry.
