//! Case folding for the `equals-ignore-case` family.

/// Writes the lower-cased form of `value` into `out` (cleared first).
///
/// ASCII is folded byte by byte; other text uses Unicode lower-casing. Bytes
/// that are not UTF-8 are kept as they are.
pub(crate) fn fold_into(value: &[u8], out: &mut Vec<u8>) {
    out.clear();
    if value.is_ascii() {
        out.extend(value.iter().map(u8::to_ascii_lowercase));
        return;
    }
    match std::str::from_utf8(value) {
        Ok(text) => {
            for c in text.chars() {
                for lower in c.to_lowercase() {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(lower.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        Err(_) => out.extend(value.iter().map(u8::to_ascii_lowercase)),
    }
}

/// The folded form of `value`, allocated.
pub(crate) fn fold(value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    fold_into(value.as_bytes(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_ascii_and_unicode() {
        assert_eq!(fold("EvEnTb"), b"eventb");
        assert_eq!(fold("ÉCOLE Straße"), "école straße".as_bytes());
        let mut out = Vec::new();
        fold_into(b"\xff\xfeAB", &mut out);
        assert_eq!(out, b"\xff\xfeab");
    }
}
