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

/// Flags (high bit) the `"` and `\\` bytes of the eight bytes `w` and,
/// with `CONTROLS`, the bytes below a space; only the lowest flag is exact.
#[inline(always)]
pub(crate) fn string_stops<const CONTROLS: bool>(w: u64) -> u64 {
    let m = zero_bytes(w ^ (ONES * u64::from(b'"'))) | zero_bytes(w ^ (ONES * u64::from(b'\\')));
    if CONTROLS {
        m | bytes_below(w, 0x20)
    } else {
        m
    }
}

/// Index of the first `"`, `\` or control character in `s`, or `s.len()`.
#[inline]
pub(crate) fn find_string_stop(s: &[u8]) -> usize {
    let mut i = 0;
    while i + 8 <= s.len() {
        let m = string_stops::<true>(word(s, i));
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

/// Length of the run of ASCII digits at the start of `s`. The run's digits
/// are also appended to the decimal integer `value`, which holds `count`
/// digits, while the count stays at most 19 (so that `value < 10^19` fits);
/// past that `count` goes on counting and `value` is left alone. Without
/// `FOLD`, only the length is found.
#[inline(always)]
pub(crate) fn digit_run<const FOLD: bool>(s: &[u8], value: &mut u64, count: &mut u32) -> usize {
    let mut i = 0;
    while i + 8 <= s.len() {
        // Digits become 0..=9; any other byte has bit 7 set after adding 0x76
        // to its low seven bits, or had it set already.
        let a = word(s, i) ^ (ONES * 0x30);
        let m = (((a & (ONES * 0x7F)) + ONES * 0x76) | a) & HIGHS;
        let run = if m == 0 { 8 } else { m.trailing_zeros() / 8 };
        if FOLD && run > 0 {
            *count += run;
            if *count <= 19 {
                // The run's digit values moved to the top bytes, zeros
                // below them: an eight-digit number with leading zeros.
                let digits = a << (8 * (8 - run));
                *value = *value * POWERS_OF_TEN[run as usize] + eight_digits(digits);
            }
        }
        i += run as usize;
        if run < 8 {
            return i;
        }
    }
    while i < s.len() && s[i].is_ascii_digit() {
        if FOLD {
            *count += 1;
            if *count <= 19 {
                *value = *value * 10 + u64::from(s[i] - b'0');
            }
        }
        i += 1;
    }
    i
}

static POWERS_OF_TEN: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// The number written by eight digit values (0..=9), one per byte, the
/// most significant in the lowest byte: pairs, then quads, then all eight
/// combined by multiplications.
#[inline]
fn eight_digits(digits: u64) -> u64 {
    let pairs = (digits.wrapping_mul(10 * 256 + 1) >> 8) & 0x00FF_00FF_00FF_00FF;
    let quads = (pairs.wrapping_mul(100 * 65_536 + 1) >> 16) & 0x0000_FFFF_0000_FFFF;
    quads.wrapping_mul(10_000 * (1 << 32) + 1) >> 32
}

/// Index of the first `"` or `\\` in `s`, or `s.len()`.
#[inline(always)]
pub(crate) fn find_quote_or_backslash(s: &[u8]) -> usize {
    let mut i = 0;
    while i + 8 <= s.len() {
        let m = string_stops::<false>(word(s, i));
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
