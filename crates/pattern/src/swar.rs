//! Byte searches eight bytes at a time (SWAR: SIMD within a register), for
//! the scanner and the number parser. Each `*_bytes` mask flags matching
//! bytes in their high bit; only the lowest flag is exact, which is all the
//! searches use.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Flags (high bit) the bytes of `v` that are zero; the lowest flag is exact.
#[inline]
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// Flags the bytes of `v` below `n` (n <= 128); the lowest flag is exact.
#[inline]
fn bytes_below(v: u64, n: u8) -> u64 {
    v.wrapping_sub(ONES * u64::from(n)) & !v & HIGHS
}

#[inline]
fn word(s: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&s[at..at + 8]);
    u64::from_le_bytes(bytes)
}

/// Index of the first `"`, `\` or control character in `s`, or `s.len()`.
#[inline]
pub(crate) fn find_string_stop(s: &[u8]) -> usize {
    let mut i = 0;
    while i + 8 <= s.len() {
        let w = word(s, i);
        let m = zero_bytes(w ^ (ONES * u64::from(b'"')))
            | zero_bytes(w ^ (ONES * u64::from(b'\\')))
            | bytes_below(w, 0x20);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < s.len() {
        let b = s[i];
        if b == b'"' || b == b'\\' || b < 0x20 {
            return i;
        }
        i += 1;
    }
    s.len()
}

/// Length of the run of ASCII digits at the start of `s`.
#[inline]
pub(crate) fn digit_run(s: &[u8]) -> usize {
    let mut i = 0;
    while i + 8 <= s.len() {
        // Digits become 0..=9; any other byte has bit 7 set after adding 0x76
        // to its low seven bits, or had it set already.
        let a = word(s, i) ^ (ONES * 0x30);
        let m = (((a & (ONES * 0x7F)) + ONES * 0x76) | a) & HIGHS;
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Index of the first `"` or `\\` in `s`, or `s.len()`.
#[inline(always)]
pub(crate) fn find_quote_or_backslash(s: &[u8]) -> usize {
    let mut i = 0;
    while i + 8 <= s.len() {
        let w = word(s, i);
        let m =
            zero_bytes(w ^ (ONES * u64::from(b'"'))) | zero_bytes(w ^ (ONES * u64::from(b'\\')));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
        if i >= 64 {
            // Long strings: hand over to the vectorised search.
            return memchr::memchr2(b'"', b'\\', &s[i..]).map_or(s.len(), |k| i + k);
        }
    }
    while i < s.len() {
        if s[i] == b'"' || s[i] == b'\\' {
            return i;
        }
        i += 1;
    }
    s.len()
}
