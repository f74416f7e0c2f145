#![no_main]
//! Modified UTF-7: any string encodes to printable ASCII and decodes back to itself; any
//! bytes the strict decoder accepts re-encode to an equivalent name; the lenient decoder
//! never fails.

use libfuzzer_sys::fuzz_target;
use mailwire::imap::codec::utf7;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let encoded = utf7::encode(&text);
    assert!(
        encoded.bytes().all(|b| (0x20..=0x7e).contains(&b)),
        "not printable ASCII: {encoded:?}"
    );
    assert_eq!(utf7::decode(&encoded).expect("own output decodes"), text);
    if let Ok(decoded) = utf7::decode(data) {
        assert_eq!(utf7::decode(utf7::encode(&decoded)).expect("decodes"), decoded);
        assert_eq!(utf7::decode_lenient(data), decoded);
    }
    let _ = utf7::decode_lenient(data);
});
