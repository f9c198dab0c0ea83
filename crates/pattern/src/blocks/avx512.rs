//! Grammar checking with AVX-512, on processors that have its byte
//! compress and byte permute instructions (VBMI and VBMI2).
//!
//! The token walk of [`super::validate_by_tokens`] spends a dozen steps on
//! every token. Here a block's tokens are checked together instead:
//!
//! 1. The block's bytes are classified into bit masks with 64-byte compares,
//!    and strings are resolved as in [`super::Blocks`].
//! 2. Each byte gets a token class (`{`, `[`, `}`, `]`, `:`, `,`, string,
//!    scalar) by a table lookup, and the classes of the bytes that start a
//!    token are compressed into one vector: lane `j` holds the block's `j`-th
//!    token. The token that comes before lane `j` is then simply lane
//!    `j - 1` (the first lane's is carried over from the previous block).
//! 3. Only the brackets are walked one by one, for nesting and to tell which
//!    commas lie in objects. Everything else is local: a string is a key
//!    when it follows `{` or an object's comma, and JSON is then exactly the
//!    pairs (previous token, token) of the table [`FOLLOWERS`], checked for
//!    all the block's tokens with two lookups and one test.
//! 4. Numbers made of digits, `-` and `.` are checked on the byte masks;
//!    other scalars (literals, exponents, stray bytes) by their bytes. A
//!    block ends before a scalar that runs into the next block, so none is
//!    ever split; one longer than a block is checked by its bytes, and the
//!    next block starts after it.
//!
//! The answers are exactly those of the token walk; a test holds them to it.
//! Elsewhere than on x86-64 the checker is never chosen, and its tables go
//! unused.

#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
use std::sync::OnceLock;

#[cfg(target_arch = "x86_64")]
use super::{
    BLOCK, bad_escapes, block_at, escaped_bytes, misplaced_controls, scalar_len_by_bytes,
    scalar_ok_by_bytes,
};

/// Proof that the running processor has everything [`validate`] uses: only
/// [`Avx512::detect`] makes one.
#[derive(Clone, Copy)]
pub(super) struct Avx512(());

impl Avx512 {
    /// `Some` when this processor has AVX-512 (F, BW, VBMI, VBMI2), BMI1 and
    /// BMI2, LZCNT, POPCNT and carry-less multiplication. The nine features
    /// are looked up once; every later call (one per container checked)
    /// reads the cached answer.
    pub(super) fn detect() -> Option<Avx512> {
        static FOUND: OnceLock<bool> = OnceLock::new();
        let found = *FOUND.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            let found = std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vbmi")
                && std::arch::is_x86_feature_detected!("avx512vbmi2")
                && std::arch::is_x86_feature_detected!("bmi1")
                && std::arch::is_x86_feature_detected!("bmi2")
                && std::arch::is_x86_feature_detected!("lzcnt")
                && std::arch::is_x86_feature_detected!("popcnt")
                && std::arch::is_x86_feature_detected!("pclmulqdq");
            #[cfg(not(target_arch = "x86_64"))]
            let found = false;
            found
        });
        found.then_some(Avx512(()))
    }

    /// [`super::validate_container`] with AVX-512; the opening bracket must
    /// be at `src[start]`.
    #[allow(unsafe_code)]
    pub(super) fn validate_container(
        self,
        src: &[u8],
        start: usize,
        depth_limit: usize,
    ) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: an `Avx512` exists only when `detect` found every
            // feature `validate` enables on the running processor, which is
            // all it requires; it reads nothing but `src`, through safe
            // indexing.
            unsafe { validate(src, start, depth_limit) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            super::validate_by_tokens(src, start, depth_limit)
        }
    }
}

// Token classes, one byte per token. Commas start as `COMMA_IN_ARRAY` and
// strings as `STRING`; the bracket walk and the key rule refine them.
const PAD: u8 = 0;
const OPEN_OBJECT: u8 = 1;
const OPEN_ARRAY: u8 = 2;
const CLOSE_OBJECT: u8 = 3;
const CLOSE_ARRAY: u8 = 4;
const COLON: u8 = 5;
const COMMA_IN_ARRAY: u8 = 6;
const COMMA_IN_OBJECT: u8 = COMMA_IN_ARRAY + 1;
const KEY: u8 = STRING - 1;
const STRING: u8 = 9;
const SCALAR: u8 = 10;
/// What comes before the container's opening bracket.
const START: u8 = 11;

// What a token is, seen from the token before it: one bit per group.
const G_KEY: u8 = 1;
const G_CLOSE_OBJECT: u8 = 2;
const G_CLOSE_ARRAY: u8 = 4;
const G_COLON: u8 = 8;
const G_VALUE: u8 = 16;
const G_COMMA: u8 = 32;
const G_CLOSE: u8 = G_CLOSE_OBJECT | G_CLOSE_ARRAY;

/// The group of each class.
const GROUP: [u8; 64] = table(&[
    (OPEN_OBJECT, G_VALUE),
    (OPEN_ARRAY, G_VALUE),
    (CLOSE_OBJECT, G_CLOSE_OBJECT),
    (CLOSE_ARRAY, G_CLOSE_ARRAY),
    (COLON, G_COLON),
    (COMMA_IN_ARRAY, G_COMMA),
    (COMMA_IN_OBJECT, G_COMMA),
    (KEY, G_KEY),
    (STRING, G_VALUE),
    (SCALAR, G_VALUE),
]);

/// The groups that may follow each class: the JSON grammar, given that a
/// bracket closes the container it should (the bracket walk checks that).
const FOLLOWERS: [u8; 64] = table(&[
    (OPEN_OBJECT, G_KEY | G_CLOSE_OBJECT),
    (OPEN_ARRAY, G_VALUE | G_CLOSE_ARRAY),
    (CLOSE_OBJECT, G_COMMA | G_CLOSE),
    (CLOSE_ARRAY, G_COMMA | G_CLOSE),
    (COLON, G_VALUE),
    (COMMA_IN_ARRAY, G_VALUE),
    (COMMA_IN_OBJECT, G_KEY),
    (KEY, G_COLON),
    (STRING, G_COMMA | G_CLOSE),
    (SCALAR, G_COMMA | G_CLOSE),
    (START, G_VALUE),
]);

/// The class of each ASCII byte as a token's first byte (bytes from 0x80
/// are scalars too, set apart by their top bit).
const BYTE_CLASS: [u8; 128] = {
    let mut classes = [SCALAR; 128];
    classes[b'{' as usize] = OPEN_OBJECT;
    classes[b'[' as usize] = OPEN_ARRAY;
    classes[b'}' as usize] = CLOSE_OBJECT;
    classes[b']' as usize] = CLOSE_ARRAY;
    classes[b':' as usize] = COLON;
    classes[b',' as usize] = COMMA_IN_ARRAY;
    classes[b'"' as usize] = STRING;
    classes
};

/// Whether a byte goes on with a scalar before it: not whitespace, not
/// structural, not a quote.
const CONTINUES_SCALAR: [bool; 256] = {
    let mut continues = [true; 256];
    let mut b = 0;
    while b <= b' ' {
        continues[b as usize] = false;
        b += 1;
    }
    let stops = b"{}[]:,\"";
    let mut i = 0;
    while i < stops.len() {
        continues[stops[i] as usize] = false;
        i += 1;
    }
    continues
};

/// Lane `j` takes lane `j - 1` of the first table; lane 0 takes lane 0 of
/// the second.
const PREVIOUS_LANE: [u8; 64] = {
    let mut lanes = [0u8; 64];
    let mut j = 1;
    while j < 64 {
        lanes[j] = j as u8 - 1;
        j += 1;
    }
    lanes[0] = 64;
    lanes
};

/// A 64-entry table with the given entries and zero elsewhere.
const fn table(entries: &[(u8, u8)]) -> [u8; 64] {
    let mut t = [PAD; 64];
    let mut i = 0;
    while i < entries.len() {
        t[entries[i].0 as usize] = entries[i].1;
        i += 1;
    }
    t
}

/// Bits `0..n` (all of them when `n` is 64).
#[inline(always)]
fn low_bits(n: u32) -> u64 {
    u64::MAX.checked_shr(64 - n).unwrap_or(0)
}

/// Bits above bit `j`.
#[inline(always)]
fn bits_above(j: u32) -> u64 {
    (2u64 << j).wrapping_neg()
}

/// The nesting state the bracket walk carries from block to block.
struct Nesting {
    /// One bit per open container, set for an object, innermost lowest.
    kinds: u64,
    depth: usize,
    limit: usize,
}

impl Nesting {
    /// Walks one block's brackets (token positions in `brackets`, of which
    /// `opens` open and `curly` are braces; `parity` is the prefix XOR of
    /// `brackets`). Returns the commas' context (bit `j` set when token `j`
    /// lies directly in an object) and the position of the bracket that
    /// closes the container, if this block has it; `None` when brackets do
    /// not match or nest too deep.
    #[inline(always)]
    fn walk(
        &mut self,
        brackets: u64,
        opens: u64,
        curly: u64,
        parity: u64,
    ) -> Option<(u64, Option<u32>)> {
        // The common case at once: objects side by side in an array, that
        // is braces that open and close in turn (the first one closing the
        // object the block starts in, if it starts in one).
        let inside = self.kinds & 1 == 1;
        let flip = if inside { u64::MAX } else { 0 };
        let in_turn = brackets & !curly == 0 && opens == brackets & (parity ^ flip);
        let room = if inside {
            self.depth >= 2 && self.kinds & 2 == 0
        } else {
            // In an array (not before the container's own bracket).
            self.depth >= 1 && self.depth < self.limit
        };
        if in_turn && room {
            if brackets.count_ones() & 1 == 1 {
                if inside {
                    self.kinds >>= 1;
                    self.depth -= 1;
                } else {
                    self.kinds = self.kinds << 1 | 1;
                    self.depth += 1;
                }
            }
            return Some((parity ^ flip, None));
        }
        let mut in_object = 0u64;
        // Tokens from here on lie in the innermost container.
        let mut segment = u64::MAX;
        let mut rest = brackets;
        while rest != 0 {
            let j = rest.trailing_zeros();
            rest &= rest - 1;
            let bit = 1u64 << j;
            if self.kinds & 1 == 1 {
                in_object |= segment & (bit - 1);
            }
            let brace = u64::from(curly & bit != 0);
            if opens & bit != 0 {
                if self.depth >= self.limit {
                    return None;
                }
                self.kinds = self.kinds << 1 | brace;
                self.depth += 1;
            } else {
                if self.kinds & 1 != brace {
                    return None;
                }
                self.kinds >>= 1;
                self.depth -= 1;
                if self.depth == 0 {
                    return Some((in_object, Some(j)));
                }
            }
            segment = bits_above(j);
        }
        if self.kinds & 1 == 1 {
            in_object |= segment;
        }
        Some((in_object, None))
    }
}

/// The faults in a block's scalar runs: a run of digits, `-` and `.` is
/// judged on the masks, any other run by its bytes. Every run starts in the
/// block (a run is never split between blocks).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn scalar_faults(src: &[u8], start: usize, scalar: u64, starts: u64, masks: NumberMasks) -> u64 {
    let NumberMasks {
        digits,
        minus,
        dot,
        zero,
    } = masks;
    let mut by_bytes = 0u64;
    let mut mixed = 0u64;
    let mut rest = scalar & !(digits | minus | dot);
    while rest != 0 {
        let i = rest.trailing_zeros();
        let run_start = 63 - (starts & low_bits(i + 1)).leading_zeros();
        let run =
            low_bits(run_start + (!(scalar >> run_start)).trailing_zeros()) & !low_bits(run_start);
        mixed |= run;
        by_bytes |= 1 << run_start;
        rest &= !run;
    }
    // These runs hold only digits, `-` and `.`, so a number is right when:
    // a `-` starts the run and a digit follows it; a `.` has a digit on
    // each side, and no second `.` ends the digits after it; a `0` that
    // starts the integer part is not followed by a digit. (A run that starts
    // or ends with a `.` or ends with a `-` breaks one of these.)
    let numbers = scalar & !mixed;
    let starts = starts & numbers;
    let mut faults = minus & !(starts & digits >> 1);
    faults |= dot & !(digits << 1 & digits >> 1);
    faults |= digits.wrapping_add(dot << 1 & digits) & dot;
    let integer_starts = (starts & digits) | (starts & minus) << 1;
    faults |= (integer_starts & zero) << 1 & digits;
    faults &= numbers;
    while by_bytes != 0 {
        let i = by_bytes.trailing_zeros() as usize;
        by_bytes &= by_bytes - 1;
        if !scalar_ok_by_bytes(&src[start + i..]) {
            faults |= 1 << i;
        }
    }
    faults
}

/// The length of the scalar (number or literal) that starts `rest` and is
/// longer than a block, when it is valid.
#[cold]
#[inline(never)]
fn long_scalar(rest: &[u8]) -> Option<usize> {
    scalar_len_by_bytes(rest)
}

/// The bytes a number is made of, for [`scalar_faults`].
#[derive(Clone, Copy)]
struct NumberMasks {
    digits: u64,
    minus: u64,
    dot: u64,
    zero: u64,
}

/// The 64 bytes of `bytes` as a vector: one unaligned load (built from
/// eight words instead, it takes five instructions, and the load starts
/// each block's chain).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
fn vector(bytes: &[u8; 64]) -> __m512i {
    // SAFETY: the load reads 64 bytes, with no alignment required, from a
    // reference to exactly 64 bytes.
    unsafe { _mm512_loadu_si512(bytes.as_ptr().cast()) }
}

/// See [`Avx512::validate_container`].
#[cfg(target_arch = "x86_64")]
#[target_feature(
    enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi1,bmi2,lzcnt,popcnt,pclmulqdq"
)]
fn validate(src: &[u8], start: usize, depth_limit: usize) -> Option<usize> {
    let splat = |b: u8| _mm512_set1_epi8(b as i8);
    let byte_class = {
        let (halves, _) = BYTE_CLASS.as_chunks::<64>();
        (vector(&halves[0]), vector(&halves[1]))
    };
    let group = vector(&GROUP);
    let followers = vector(&FOLLOWERS);
    let previous_lane = vector(&PREVIOUS_LANE);

    let mut nesting = Nesting {
        kinds: 0,
        depth: 0,
        limit: depth_limit.min(64),
    };
    let mut in_string = 0u64;
    let mut escaped_carry = 0u64;
    // The class of the last token of the previous block.
    let mut before = START;
    let mut at = start;
    let mut padded = [b' '; BLOCK];
    loop {
        // A short block is only ever the last one (a block is cut short
        // only when bytes follow it), so `padded` is still all spaces.
        let chunk = block_at(src, at, &mut padded)?;
        let v = vector(chunk);
        let eq = |b: u8| _mm512_cmpeq_epi8_mask(v, splat(b));

        // Strings, as in `Blocks::next`.
        let escaped = escaped_bytes(eq(b'\\'), &mut escaped_carry);
        let quote = eq(b'"');
        let quotes = quote & !escaped;
        let ones = _mm_set1_epi64x(-1);
        let in_str = _mm_cvtsi128_si64(_mm_clmulepi64_si128::<0>(
            _mm_set_epi64x(0, quotes as i64),
            ones,
        )) as u64
            ^ in_string;
        in_string = ((in_str as i64) >> 63) as u64;
        let string_starts = quotes & in_str;

        // Tokens.
        // `{` 0x7B and `[` 0x5B differ only in bit 5, as do `}` and `]`.
        let folded = _mm512_or_si512(v, splat(0x20));
        let open = _mm512_cmpeq_epi8_mask(folded, splat(b'{'));
        let close = _mm512_cmpeq_epi8_mask(folded, splat(b'}'));
        let curly = _mm512_test_epi8_mask(v, splat(0x20));
        let comma = eq(b',');
        let structural = open | close | eq(b':') | comma;
        let low = _mm512_cmple_epu8_mask(v, splat(b' '));
        let mut scalar = !(structural | low | quote | in_str);
        // No scalar runs in from the block before (see below).
        let mut scalar_starts = scalar & !(scalar << 1);
        // A scalar that goes on into the next block is left to it: this
        // block ends where that scalar starts.
        let next = src.get(at + BLOCK).copied().unwrap_or(b' ');
        let continues = scalar >> 63 == 1 && CONTINUES_SCALAR[usize::from(next)];
        let last_start = 64 - scalar.leading_ones();
        let mut width = BLOCK;
        if continues && last_start == 0 {
            // One scalar fills the block and goes on: it is judged by its
            // bytes, and the next block starts after it.
            width = long_scalar(&src[at..])?;
            scalar = 0;
        }
        let cut = continues && last_start > 0;
        let kept = low_bits(last_start) | u64::from(cut).wrapping_sub(1);
        scalar &= kept;
        scalar_starts &= kept;
        if cut {
            width = last_start as usize;
            // Right before that scalar: outside strings, nothing escaped.
            escaped_carry = 0;
        }
        let tokens = (structural & !in_str) | string_starts | scalar_starts;
        let count = tokens.count_ones();

        // The tokens' classes, in order; and for the bracket walk and the
        // key rule, the positions (in token order) of the tokens it needs.
        let classes = _mm512_permutex2var_epi8(byte_class.0, v, byte_class.1);
        let classes = _mm512_mask_mov_epi8(classes, _mm512_movepi8_mask(v), splat(SCALAR));
        let mut ordered = _mm512_maskz_compress_epi8(tokens, classes);
        // Bytes inside strings are not tokens, so they drop out here.
        let in_order = |bytes: u64| _pext_u64(bytes, tokens);
        let opens = in_order(open);
        let brackets = in_order(open | close);
        let braces = in_order(curly) & brackets;
        let commas = in_order(comma);
        let strings = in_order(string_starts);
        let parity = _mm_cvtsi128_si64(_mm_clmulepi64_si128::<0>(
            _mm_set_epi64x(0, brackets as i64),
            ones,
        )) as u64;
        let (in_object, end) = nesting.walk(brackets, opens, braces, parity)?;
        let mut valid = low_bits(count);
        if let Some(j) = end {
            valid = low_bits(j + 1);
        }
        let object_commas = commas & in_object;
        let key_place_before = matches!(before, OPEN_OBJECT | COMMA_IN_OBJECT);
        let keys = strings & ((opens & braces | object_commas) << 1 | u64::from(key_place_before));
        ordered = _mm512_mask_mov_epi8(ordered, object_commas, splat(COMMA_IN_OBJECT));
        ordered = _mm512_mask_mov_epi8(ordered, keys, splat(KEY));

        // Each token against the one before it.
        let previous = _mm512_permutex2var_epi8(ordered, previous_lane, splat(before));
        let allowed = _mm512_permutexvar_epi8(previous, followers);
        let groups = _mm512_permutexvar_epi8(ordered, group);
        if _mm512_testn_epi8_mask(allowed, groups) & valid != 0 {
            return None;
        }
        if count > 0 {
            // The last token's class, refined: read from its lane.
            let last = _mm512_permutexvar_epi8(_mm512_set1_epi8(count as i8 - 1), ordered);
            before = _mm_cvtsi128_si32(_mm512_castsi512_si128(last)) as u8;
        }

        // Numbers, literals, control bytes and escapes.
        let digit = _mm512_sub_epi8(v, splat(b'0'));
        let masks = NumberMasks {
            digits: _mm512_cmplt_epu8_mask(digit, splat(10)),
            minus: eq(b'-'),
            dot: eq(b'.'),
            zero: eq(b'0'),
        };
        let mut faults = 0;
        if scalar != 0 {
            faults |= scalar_faults(src, at, scalar, scalar_starts, masks);
        }
        let controls = _mm512_cmplt_epu8_mask(v, splat(b' '));
        if controls != 0 {
            faults |= misplaced_controls(chunk, controls, in_str);
        }
        let escapes = eq(b'\\') & !escaped & in_str;
        if escapes != 0 {
            faults |= bad_escapes(src, at, escapes);
        }
        if let Some(j) = end {
            let closing = _pdep_u64(1 << j, tokens).trailing_zeros();
            return (faults & low_bits(closing) == 0).then_some(at + closing as usize + 1);
        }
        if faults != 0 {
            return None;
        }
        at += width;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_a_group_and_followers() {
        for class in OPEN_OBJECT..=SCALAR {
            assert_ne!(GROUP[class as usize], 0, "{class}");
            assert_ne!(FOLLOWERS[class as usize], 0, "{class}");
        }
        assert_eq!(GROUP[PAD as usize] | GROUP[START as usize], 0);
    }

    #[test]
    fn bit_helpers() {
        assert_eq!(low_bits(0), 0);
        assert_eq!(low_bits(3), 0b111);
        assert_eq!(low_bits(64), u64::MAX);
        assert_eq!(bits_above(0), !1);
        assert_eq!(bits_above(62), 1 << 63);
        assert_eq!(bits_above(63), 0);
    }
}
