//! Skipping whole objects and arrays 64 bytes at a time.
//!
//! A container no rule reads is passed over in two stages. First each
//! 64-byte block is classified into bit masks (bit `i` stands for byte `i`
//! of the block) with 16-byte vector compares, or 32-byte ones where the
//! processor has AVX2: quotes, backslashes, brackets, `:` and `,`, bytes up
//! to the space, digits. Escapes and string bodies are then resolved with
//! bit arithmetic (a prefix XOR over the unescaped quotes), so string
//! contents never cost a step each. Second, only the bits that start a
//! token are visited: brackets when counting depth (early exit), or every
//! structural character, opening quote and first byte of a number or literal
//! when checking the JSON grammar (validating). Where the processor has
//! AVX-512 with VBMI and VBMI2, the grammar is checked for a whole block of
//! tokens at once instead (module `avx512`), with the same answers.
//!
//! The fast paths answer `None` for anything they do not settle themselves
//! (invalid JSON, `\u` escapes, nesting past the limit); the scanner then
//! takes its byte-by-byte path, which gives the precise error.

use wide::u8x16;

use crate::json;
use crate::number;

mod avx512;

/// Bytes per block.
const BLOCK: usize = 64;

/// Byte classes of one block, before strings are resolved.
#[derive(Debug, Default, PartialEq)]
struct Classes {
    quote: u64,
    backslash: u64,
    /// Bracket counting: `{` and `[`.
    open: u64,
    /// Bracket counting: `}` and `]`.
    close: u64,
    /// Grammar checking: `{ [ } ] : ,`.
    structural: u64,
    /// Grammar checking: bytes up to and including the space.
    low: u64,
    /// Grammar checking: ASCII digits.
    digits: u64,
    /// Grammar checking: whether any byte is below the space.
    any_control: bool,
}

/// Classifies 64 bytes: for bracket counting (`FULL` false) or for grammar
/// checking (`FULL` true).
#[inline(always)]
fn classify<const FULL: bool>(chunk: &[u8; BLOCK]) -> Classes {
    let mut c = Classes::default();
    let mut controls = u8x16::splat(0);
    let (parts, _) = chunk.as_chunks::<16>();
    for (k, part) in parts.iter().enumerate() {
        let v = u8x16::new(*part);
        // `{` 0x7B and `[` 0x5B differ only in bit 5, as do `}` and `]`.
        let folded = v | u8x16::splat(0x20);
        let bits = |m: u8x16| u64::from(m.to_bitmask()) << (16 * k);
        c.quote |= bits(v.simd_eq(u8x16::splat(b'"')));
        c.backslash |= bits(v.simd_eq(u8x16::splat(b'\\')));
        let open = folded.simd_eq(u8x16::splat(b'{'));
        let close = folded.simd_eq(u8x16::splat(b'}'));
        if FULL {
            let punctuation = v.simd_eq(u8x16::splat(b':')) | v.simd_eq(u8x16::splat(b','));
            c.structural |= bits(open | close | punctuation);
            c.low |= bits(v.max(u8x16::splat(b' ')).simd_eq(u8x16::splat(b' ')));
            let digit = v - u8x16::splat(b'0');
            c.digits |= bits(digit.min(u8x16::splat(9)).simd_eq(digit));
            controls |= v.max(u8x16::splat(0x1F)).simd_eq(u8x16::splat(0x1F));
        } else {
            c.open |= bits(open);
            c.close |= bits(close);
        }
    }
    c.any_control = FULL && controls.to_bitmask() != 0;
    c
}

/// Bytes below the space in `chunk`, one bit each; for the rare blocks
/// that have any.
#[inline(never)]
fn control_bytes(chunk: &[u8; BLOCK]) -> u64 {
    chunk
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b < b' ')
        .fold(0, |m, (i, _)| m | 1 << i)
}

/// The control bytes of `chunk` (`controls`, one bit each) that make JSON
/// invalid: those inside strings, and outside them all but tab, line feed
/// and carriage return.
#[inline(always)]
fn misplaced_controls(chunk: &[u8; BLOCK], controls: u64, in_string: u64) -> u64 {
    let mut bad = controls & in_string;
    let mut outside = controls & !in_string;
    while outside != 0 {
        let i = outside.trailing_zeros() as usize;
        outside &= outside - 1;
        if !matches!(chunk[i], b'\t' | b'\n' | b'\r') {
            bad |= 1 << i;
        }
    }
    bad
}

/// Bit `i` set when any of bits `0..=i` of `x` is set an odd number of
/// times: from an opening quote up to (not including) its closing quote.
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// One block with its strings resolved. Masks name bytes by bit position;
/// `start` is the block's offset in the source.
#[derive(Debug, Default, PartialEq)]
struct Block {
    start: usize,
    /// Bracket counting: `{` and `[` outside strings.
    opens: u64,
    /// Bracket counting: `}` and `]` outside strings.
    closes: u64,
    /// Grammar checking: `{ [ } ] : ,` outside strings.
    structural: u64,
    /// Grammar checking: quotes that open a string.
    string_starts: u64,
    /// Grammar checking: bytes outside strings that are neither whitespace
    /// nor structural (numbers, literals, stray bytes), and the first byte
    /// of each run of them.
    scalar: u64,
    scalar_starts: u64,
    /// Grammar checking: ASCII digits.
    digits: u64,
    /// Grammar checking: backslashes inside strings that escape the byte
    /// after them.
    escapes: u64,
    /// Grammar checking: control bytes inside strings, and outside strings
    /// those that are not whitespace.
    bad_controls: u64,
}

/// Walks a source from an offset, one block at a time, carrying string and
/// escape state across blocks.
struct Blocks<'a> {
    src: &'a [u8],
    at: usize,
    /// All ones when the previous block ended inside a string.
    in_string: u64,
    /// 1 when the previous block ended with an escaping backslash.
    escaped_carry: u64,
    /// 1 when the previous block ended inside a scalar run.
    scalar_carry: u64,
    /// Present when blocks are classified with 32-byte vectors.
    avx2: Option<avx2::Avx2>,
}

impl<'a> Blocks<'a> {
    fn new(src: &'a [u8], at: usize) -> Blocks<'a> {
        Blocks {
            src,
            at,
            in_string: 0,
            escaped_carry: 0,
            scalar_carry: 0,
            avx2: avx2::Avx2::detect(),
        }
    }

    /// The next block, or `None` past the end. A short last block is padded
    /// with spaces, which are neither tokens nor inside anything.
    #[inline(always)]
    fn next<const FULL: bool>(&mut self) -> Option<Block> {
        let start = self.at;
        let mut padded = [b' '; BLOCK];
        let chunk = block_at(self.src, start, &mut padded)?;
        let classes = match self.avx2 {
            Some(avx2) => avx2.classify::<FULL>(chunk),
            None => classify::<FULL>(chunk),
        };
        self.at = start + BLOCK;
        let escaped = self.escaped(classes.backslash);
        let quotes = classes.quote & !escaped;
        let in_string = prefix_xor(quotes) ^ self.in_string;
        self.in_string = ((in_string as i64) >> 63) as u64;
        if !FULL {
            return Some(Block {
                start,
                opens: classes.open & !in_string,
                closes: classes.close & !in_string,
                ..Block::default()
            });
        }
        let scalar = !(classes.structural | classes.low | classes.quote | in_string);
        let scalar_starts = scalar & !((scalar << 1) | self.scalar_carry);
        self.scalar_carry = scalar >> 63;
        let mut bad_controls = 0;
        if classes.any_control {
            bad_controls = misplaced_controls(chunk, control_bytes(chunk), in_string);
        }
        Some(Block {
            start,
            structural: classes.structural & !in_string,
            string_starts: quotes & in_string,
            scalar,
            scalar_starts,
            digits: classes.digits,
            escapes: classes.backslash & !escaped & in_string,
            bad_controls,
            ..Block::default()
        })
    }

    /// Bytes escaped by a backslash, carrying the state on (see
    /// [`escaped_bytes`]).
    #[inline(always)]
    fn escaped(&mut self, backslash: u64) -> u64 {
        escaped_bytes(backslash, &mut self.escaped_carry)
    }
}

/// The block of `src` at `at`: its 64 bytes, or, when fewer are left, those
/// copied into `padded` (all spaces), which stands for the block; `None`
/// past the end.
#[inline(always)]
fn block_at<'s>(src: &'s [u8], at: usize, padded: &'s mut [u8; BLOCK]) -> Option<&'s [u8; BLOCK]> {
    let rest = src.get(at..)?;
    match rest.first_chunk::<BLOCK>() {
        Some(chunk) => Some(chunk),
        None if rest.is_empty() => None,
        None => {
            padded[..rest.len()].copy_from_slice(rest);
            Some(padded)
        }
    }
}

/// Bytes escaped by a backslash, given the block's backslashes and `carry`
/// (1 when the previous block ended with an escaping backslash; updated for
/// the next block). Runs of backslashes are resolved in order, which is
/// rare enough for a loop.
#[inline(always)]
fn escaped_bytes(backslash: u64, carry: &mut u64) -> u64 {
    if backslash == 0 && *carry == 0 {
        return 0;
    }
    let mut escaped = *carry;
    *carry = 0;
    let mut rest = backslash;
    while rest != 0 {
        let i = rest.trailing_zeros();
        rest &= rest - 1;
        if escaped & (1 << i) == 0 {
            if i == 63 {
                *carry = 1;
            } else {
                escaped |= 1 << (i + 1);
            }
        }
    }
    escaped
}

/// The length of the prefix of `src` made of whole 64-byte blocks of ASCII
/// (UTF-8 checks can start there: ASCII bytes are character boundaries).
pub(crate) fn ascii_prefix(src: &[u8]) -> usize {
    let (blocks, _) = src.as_chunks::<BLOCK>();
    blocks
        .iter()
        .position(|block| {
            let (parts, _) = block.as_chunks::<16>();
            let any = parts
                .iter()
                .fold(u8x16::splat(0), |acc, part| acc | u8x16::new(*part));
            any.to_bitmask() != 0
        })
        .unwrap_or(blocks.len())
        * BLOCK
}

/// Early exit: the end (one past the closing bracket) of the object or array
/// starting at `src[start]`, by bracket counting alone; `None` when it is not
/// closed.
pub(crate) fn skip_container(src: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut blocks = Blocks::new(src, start);
    while let Some(block) = blocks.next::<false>() {
        let closes = block.closes.count_ones() as usize;
        if depth > closes {
            // The container cannot end in this block.
            depth = depth + block.opens.count_ones() as usize - closes;
            continue;
        }
        let mut brackets = block.opens | block.closes;
        while brackets != 0 {
            let i = brackets.trailing_zeros() as usize;
            brackets &= brackets - 1;
            if block.opens & (1 << i) != 0 {
                depth += 1;
            } else {
                depth -= 1;
                if depth == 0 {
                    return Some(block.start + i + 1);
                }
            }
        }
    }
    None
}

/// The tokens of a source from an offset, in order: structural characters,
/// opening quotes, and first bytes of scalars. Strings are checked on the
/// way (control bytes, escapes); `None` ends the walk there.
struct Tokens<'a> {
    src: &'a [u8],
    blocks: Blocks<'a>,
    base: usize,
    bits: u64,
    /// The current block's scalar bytes and digits.
    scalar: u64,
    digits: u64,
    /// The current block's bytes that make the JSON invalid where they lie
    /// inside the container: control bytes in strings, unknown escapes
    /// (and, for the byte path, `\u` escapes).
    bad: u64,
}

impl<'a> Tokens<'a> {
    fn new(src: &'a [u8], start: usize) -> Tokens<'a> {
        Tokens {
            src,
            blocks: Blocks::new(src, start),
            base: start,
            bits: 0,
            scalar: 0,
            digits: 0,
            bad: 0,
        }
    }

    /// The next token's offset.
    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        if self.bits == 0 {
            self.refill()?;
        }
        let at = self.base + self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        Some(at)
    }

    /// Moves to the next block that holds a token.
    #[inline(never)]
    fn refill(&mut self) -> Option<()> {
        while self.bits == 0 {
            if self.bad != 0 {
                // The block just left lies wholly inside the container.
                return None;
            }
            let block = self.blocks.next::<true>()?;
            self.bad = block.bad_controls | bad_escapes(self.src, block.start, block.escapes);
            self.base = block.start;
            self.bits = block.structural | block.string_starts | block.scalar_starts;
            self.scalar = block.scalar;
            self.digits = block.digits;
        }
        Some(())
    }

    /// Whether the container that ends at `at` holds nothing invalid in its
    /// last block (earlier blocks were checked when left).
    #[inline(always)]
    fn clean_up_to(&self, at: usize) -> bool {
        let below = (1u64 << (at - self.base)) - 1;
        self.bad & below == 0
    }

    /// Whether the scalar run starting at `at` (a token just taken) is a
    /// number or literal. A number that ends in this block is read from the
    /// block's masks; anything else from the bytes.
    #[inline(always)]
    fn scalar_ok(&self, at: usize) -> bool {
        let i = at - self.base;
        let len = (!(self.scalar >> i)).trailing_zeros() as usize;
        let bytes = &self.src[at..];
        match bytes[0] {
            b'-' | b'0'..=b'9' if i + len < BLOCK => number_ok(bytes, self.digits >> i, len),
            _ => scalar_ok_by_bytes(bytes),
        }
    }

    /// The next token's byte and offset.
    #[inline(always)]
    fn next_byte(&mut self) -> Option<(u8, usize)> {
        let at = self.next()?;
        Some((*self.src.get(at)?, at))
    }

    /// After an object's key: its `:` and the first token of its value.
    #[inline(always)]
    fn colon_then_value(&mut self) -> Option<(u8, usize)> {
        match self.next_byte()? {
            (b':', _) => self.next_byte(),
            _ => None,
        }
    }
}

/// A stack of container kinds, one bit per level (set for an object).
#[derive(Default)]
struct OpenContainers {
    kinds: u64,
    depth: usize,
}

impl OpenContainers {
    #[inline(always)]
    fn push(&mut self, object: bool) {
        self.kinds = self.kinds << 1 | u64::from(object);
        self.depth += 1;
    }

    #[inline(always)]
    fn pop(&mut self) {
        self.kinds >>= 1;
        self.depth -= 1;
    }

    /// Whether the innermost container is an object; `None` when none is
    /// open.
    #[inline(always)]
    fn innermost(&self) -> Option<bool> {
        (self.depth > 0).then_some(self.kinds & 1 == 1)
    }
}

/// Validating: the end (one past the closing bracket) of the object or array
/// starting at `src[start]` when it is well-formed JSON nested at most
/// `depth_limit` levels deep. `None` when it is not, or when it holds a
/// `\u` escape, or nests deeper than 64 levels (both left to the
/// byte-by-byte path).
pub(crate) fn validate_container(src: &[u8], start: usize, depth_limit: usize) -> Option<usize> {
    match avx512::Avx512::detect() {
        Some(avx512) if matches!(src.get(start), Some(b'{' | b'[')) => {
            avx512.validate_container(src, start, depth_limit)
        }
        _ => validate_by_tokens(src, start, depth_limit),
    }
}

/// [`validate_container`] by walking every token: on any processor.
fn validate_by_tokens(src: &[u8], start: usize, depth_limit: usize) -> Option<usize> {
    let depth_limit = depth_limit.min(64);
    // The containers entered: one bit each, set for an object, innermost
    // lowest.
    let mut open = OpenContainers::default();
    let mut tokens = Tokens::new(src, start);
    // The first token of the value being read.
    let (mut byte, mut at) = tokens.next_byte()?;
    'value: loop {
        match byte {
            b'{' | b'[' => {
                if open.depth >= depth_limit {
                    return None;
                }
                let (next, next_at) = tokens.next_byte()?;
                match (byte, next) {
                    (b'{', b'}') | (b'[', b']') => at = next_at,
                    (b'{', b'"') => {
                        open.push(true);
                        (byte, at) = tokens.colon_then_value()?;
                        continue 'value;
                    }
                    (b'{', _) => return None,
                    _ => {
                        open.push(false);
                        (byte, at) = (next, next_at);
                        continue 'value;
                    }
                }
            }
            b'"' => {}
            b'}' | b']' | b':' | b',' => return None,
            _ => {
                if !tokens.scalar_ok(at) {
                    return None;
                }
            }
        }
        // After a value: close containers until a comma starts the next one.
        loop {
            let Some(in_object) = open.innermost() else {
                return tokens.clean_up_to(at).then_some(at + 1);
            };
            let (next, next_at) = tokens.next_byte()?;
            match next {
                b',' => {
                    (byte, at) = tokens.next_byte()?;
                    if in_object {
                        if byte != b'"' {
                            return None;
                        }
                        (byte, at) = tokens.colon_then_value()?;
                    }
                    continue 'value;
                }
                b'}' if in_object => {}
                b']' if !in_object => {}
                _ => return None,
            }
            open.pop();
            at = next_at;
        }
    }
}

/// The escapes that are not single-character ones: `\u` escapes (left to
/// the byte-by-byte path) and invalid ones.
#[inline(always)]
fn bad_escapes(src: &[u8], start: usize, escapes: u64) -> u64 {
    let mut bad = 0;
    let mut rest = escapes;
    while rest != 0 {
        let i = rest.trailing_zeros() as usize;
        rest &= rest - 1;
        let escaped = src.get(start + i + 1).copied();
        if escaped.and_then(json::simple_escape).is_none() {
            bad |= 1 << i;
        }
    }
    bad
}

/// Whether the `len` bytes at the start of `bytes` are one JSON number;
/// `digits` flags the digits among them (bit 0 = first byte).
#[inline(always)]
fn number_ok(bytes: &[u8], digits: u64, len: usize) -> bool {
    // The length of the run of digits at `at`.
    let run = |at: usize| (!(digits >> at)).trailing_zeros() as usize;
    let mut at = usize::from(bytes[0] == b'-');
    let int = run(at);
    if int == 0 || (int > 1 && bytes[at] == b'0') {
        return false;
    }
    at += int;
    if at < len && bytes[at] == b'.' {
        let frac = run(at + 1);
        if frac == 0 {
            return false;
        }
        at += 1 + frac;
    }
    if at < len && bytes[at] | 0x20 == b'e' {
        at += 1;
        if at < len && matches!(bytes[at], b'+' | b'-') {
            at += 1;
        }
        let exp = run(at);
        if exp == 0 {
            return false;
        }
        at += exp;
    }
    at == len
}

/// Whether `rest` starts with a whole number or literal: valid, and followed
/// by whitespace, a structural character, a quote or the end.
#[inline(always)]
fn scalar_ok_by_bytes(rest: &[u8]) -> bool {
    scalar_len_by_bytes(rest).is_some()
}

/// [`scalar_ok_by_bytes`], giving the scalar's length.
#[inline(always)]
fn scalar_len_by_bytes(rest: &[u8]) -> Option<usize> {
    let len = match rest[0] {
        b't' if rest.starts_with(b"true") => 4,
        b'f' if rest.starts_with(b"false") => 5,
        b'n' if rest.starts_with(b"null") => 4,
        b'-' | b'0'..=b'9' => number::split_prefix::<false>(rest).ok()?.1,
        _ => return None,
    };
    matches!(
        rest.get(len),
        None | Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b':' | b'{' | b'}' | b'[' | b']' | b'"')
    )
    .then_some(len)
}

/// Classification with 32-byte vectors, on processors that have AVX2:
/// the same masks as [`classify`], in half the vector steps.
mod avx2 {
    use super::{BLOCK, Classes};

    /// Proof that the running processor has AVX2: only [`Avx2::detect`]
    /// makes one.
    #[derive(Clone, Copy)]
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) struct Avx2(());

    impl Avx2 {
        /// `Some` when this processor has AVX2 (detected once, then cached).
        #[cfg(target_arch = "x86_64")]
        pub(super) fn detect() -> Option<Avx2> {
            std::arch::is_x86_feature_detected!("avx2").then_some(Avx2(()))
        }

        #[cfg(not(target_arch = "x86_64"))]
        pub(super) fn detect() -> Option<Avx2> {
            None
        }

        /// [`super::classify`] with AVX2.
        #[cfg(target_arch = "x86_64")]
        #[inline(always)]
        #[allow(unsafe_code)]
        pub(super) fn classify<const FULL: bool>(self, chunk: &[u8; BLOCK]) -> Classes {
            // SAFETY: an `Avx2` exists only when `detect` found AVX2 on the
            // running processor, which is all `classify_avx2` requires; it
            // reads nothing but `chunk`.
            unsafe { classify_avx2::<FULL>(chunk) }
        }

        #[cfg(not(target_arch = "x86_64"))]
        pub(super) fn classify<const FULL: bool>(self, chunk: &[u8; BLOCK]) -> Classes {
            super::classify::<FULL>(chunk)
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn classify_avx2<const FULL: bool>(chunk: &[u8; BLOCK]) -> Classes {
        use std::arch::x86_64::*;

        let (halves, _) = chunk.as_chunks::<32>();
        let mut c = Classes::default();
        let mut smallest = _mm256_set1_epi8(-1);
        for (k, half) in halves.iter().enumerate() {
            let (words, _) = half.as_chunks::<8>();
            // Four words in order: one unaligned 32-byte load.
            let word = |i: usize| i64::from_le_bytes(words[i]);
            let v = _mm256_setr_epi64x(word(0), word(1), word(2), word(3));
            let splat = |b: u8| _mm256_set1_epi8(b as i8);
            let bits = |m: __m256i| u64::from(_mm256_movemask_epi8(m) as u32) << (32 * k);
            c.quote |= bits(_mm256_cmpeq_epi8(v, splat(b'"')));
            c.backslash |= bits(_mm256_cmpeq_epi8(v, splat(b'\\')));
            // `{` 0x7B and `[` 0x5B differ only in bit 5, as do `}` and `]`.
            let folded = _mm256_or_si256(v, splat(0x20));
            let open = _mm256_cmpeq_epi8(folded, splat(b'{'));
            let close = _mm256_cmpeq_epi8(folded, splat(b'}'));
            if FULL {
                let punctuation = _mm256_or_si256(
                    _mm256_cmpeq_epi8(v, splat(b':')),
                    _mm256_cmpeq_epi8(v, splat(b',')),
                );
                c.structural |= bits(_mm256_or_si256(_mm256_or_si256(open, close), punctuation));
                let space = splat(b' ');
                c.low |= bits(_mm256_cmpeq_epi8(_mm256_max_epu8(v, space), space));
                let digit = _mm256_sub_epi8(v, splat(b'0'));
                c.digits |= bits(_mm256_cmpeq_epi8(_mm256_min_epu8(digit, splat(9)), digit));
                smallest = _mm256_min_epu8(smallest, v);
            } else {
                c.open |= bits(open);
                c.close |= bits(close);
            }
        }
        if FULL {
            let limit = _mm256_set1_epi8(0x1F);
            let controls = _mm256_cmpeq_epi8(_mm256_max_epu8(smallest, limit), limit);
            c.any_control = _mm256_movemask_epi8(controls) != 0;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_hide_their_contents_and_escaped_quotes() {
        let src = r#"{"a\"{": [1, "]"], "b": tru}"#;
        let mut blocks = Blocks::new(src.as_bytes(), 0);
        let block = blocks.next::<true>().expect("one block");
        // Only the structural characters outside strings count.
        let structural = 1 << 0 | 1 << 7 | 1 << 9 | 1 << 11 | 1 << 16 | 1 << 17 | 1 << 22 | 1 << 27;
        assert_eq!(block.structural, structural);
        assert_eq!(block.string_starts, 1 << 1 | 1 << 13 | 1 << 19);
        assert_eq!(block.escapes, 1 << 3);
        assert_eq!(block.scalar_starts, 1 << 10 | 1 << 24);
        assert_eq!(block.scalar, 1 << 10 | 0b111 << 24);
        assert_eq!(block.digits, 1 << 10);
        let mut brackets = Blocks::new(src.as_bytes(), 0);
        let block = brackets.next::<false>().expect("one block");
        assert_eq!(block.opens, 1 << 0 | 1 << 9);
        assert_eq!(block.closes, 1 << 16 | 1 << 27);
        assert!(blocks.next::<true>().is_none());
    }

    #[test]
    fn state_carries_across_blocks() {
        // A string and a run of backslashes that straddle block boundaries.
        let key = "k".repeat(60);
        let src = format!(r#"{{"{key}\\\\\\\"": "{}", "n": -12.5e3}}"#, "v".repeat(70));
        let end = validate_container(src.as_bytes(), 0, 10);
        assert_eq!(end, Some(src.len()));
        assert_eq!(skip_container(src.as_bytes(), 0), Some(src.len()));
    }

    #[test]
    fn grammar_errors_are_refused() {
        for bad in [
            "{",
            "[1,]",
            "[1 2]",
            r#"{"a" 1}"#,
            r#"{"a":}"#,
            "[1}",
            r#"{"a":1]"#,
            "[tru]",
            "[01]",
            "[1.]",
            "[-]",
            "[1e]",
            "[nul]",
            "[1x]",
            r#"["a"1]"#,
            "[\"\u{1}\"]",
            "[\u{1}]",
            r#"{1:2}"#,
            r#"{"a":1,}"#,
            "[,1]",
            r#"["\x"]"#,
            "[\\]",
        ] {
            assert_eq!(validate_container(bad.as_bytes(), 0, 10), None, "{bad}");
        }
    }

    #[test]
    fn valid_containers_end_after_their_bracket() {
        for good in [
            "{}",
            "[]",
            "[[],{}]",
            r#"{"a":[1,-0.5,2E+3,true,false,null,"x"]}"#,
            " [\t1\n,\r2 ]",
            r#"{"\"":"\\/\b\f\n\r\t"}"#,
            r#"[{"a":{"b":[[]]}}]"#,
        ] {
            let src = format!("{good} tail");
            let start = good.len() - good.trim_start().len();
            assert_eq!(
                validate_container(src.as_bytes(), start, 10),
                Some(good.len()),
                "{good}"
            );
            assert_eq!(skip_container(src.as_bytes(), start), Some(good.len()));
        }
    }

    #[test]
    fn unicode_escapes_and_deep_nesting_go_to_the_byte_path() {
        assert_eq!(validate_container(br#"["\u0041"]"#, 0, 10), None);
        assert_eq!(validate_container(b"[[[1]]]", 0, 2), None);
        assert_eq!(validate_container(b"[[[1]]]", 0, 3), Some(7));
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(validate_container(deep.as_bytes(), 0, 1000), None);
        let deep = &deep[1..deep.len() - 1];
        assert_eq!(validate_container(deep.as_bytes(), 0, 1000), Some(128));
    }

    /// Numbers longer than a block, at every offset against the block grid.
    #[test]
    fn scalars_longer_than_a_block() {
        let long = format!("1{}", "0".repeat(150));
        for shift in 0..70 {
            let pad = " ".repeat(shift);
            let good = format!(r#"{pad}[{long}, -{long}.5e3, {{"a": {long}}}, 1]"#);
            assert_eq!(
                validate_container(good.as_bytes(), shift, 10),
                Some(good.len()),
                "{good}"
            );
            for bad in [
                format!("{pad}[{long}x]"),
                format!("{pad}[{long}.]"),
                format!("{pad}[-0{long}]"),
                format!("{pad}[{long} {long}]"),
                format!("{pad}[{}]", "a".repeat(100)),
            ] {
                assert_eq!(validate_container(bad.as_bytes(), shift, 10), None, "{bad}");
            }
        }
    }

    #[test]
    fn ascii_prefix_stops_at_the_block_with_other_bytes() {
        let mut src = vec![b'a'; 200];
        assert_eq!(ascii_prefix(&src), 192);
        src[130] = 0xC3;
        assert_eq!(ascii_prefix(&src), 128);
        src[0] = 0x80;
        assert_eq!(ascii_prefix(&src), 0);
    }

    /// The AVX2 classifier gives the portable one's masks, on every
    /// processor that has it (elsewhere there is nothing to compare).
    #[test]
    fn both_classifiers_agree() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let Some(avx2) = avx2::Avx2::detect() else {
            return;
        };
        let byte = prop_oneof![
            prop::sample::select(b"{}[]:,\" \\0123456789.-+eE\t\n\r\x01\x1f\x7fxz".to_vec()),
            any::<u8>(),
        ];
        // Blocks of mixed bytes, and blocks with no byte below 0x1F (where
        // the control-byte flag depends on the last one).
        let block = prop_oneof![
            prop::collection::vec(byte, BLOCK),
            prop::collection::vec(0x1Fu8..=0x7F, BLOCK),
        ];
        let mut runner = TestRunner::new(Config::with_cases(3000));
        runner
            .run(&block, |bytes| {
                let chunk: &[u8; BLOCK] = bytes.as_slice().try_into().expect("64 bytes");
                prop_assert_eq!(avx2.classify::<true>(chunk), classify::<true>(chunk));
                prop_assert_eq!(avx2.classify::<false>(chunk), classify::<false>(chunk));
                Ok(())
            })
            .expect("the classifiers agree");
    }

    #[test]
    fn unterminated_containers_have_no_end() {
        assert_eq!(skip_container(b"[[1]", 0), None);
        assert_eq!(skip_container(br#"["]"#, 0), None);
        assert_eq!(skip_container(br#"["\"]"#, 0), None);
    }

    mod agreement {
        use proptest::prelude::*;
        use serde::de::IgnoredAny;

        use super::super::{skip_container, validate_container};

        fn leaf() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("0".to_string()),
                Just("-12.5e+3".to_string()),
                Just("true".to_string()),
                Just("null".to_string()),
                "[a-z0-9 {}\\[\\]:,]{0,70}".prop_map(|s| format!("{s:?}")),
                any::<f64>().prop_map(|f| f.to_string()),
                Just(r#""esc \\ \" \/ \t""#.to_string()),
            ]
        }

        fn container() -> impl Strategy<Value = String> {
            let ws = prop_oneof![Just(""), Just(" "), Just("\n  "), Just("\t")];
            leaf()
                .prop_recursive(4, 40, 5, move |inner| {
                    let ws = ws.clone();
                    prop_oneof![
                        (prop::collection::vec(inner.clone(), 0..5), ws.clone())
                            .prop_map(|(v, w)| format!("[{w}{}{w}]", v.join(&format!("{w},")))),
                        (prop::collection::vec(("[a-z\\\\\"]{0,3}", inner), 0..5), ws).prop_map(
                            |(v, w)| {
                                let members: Vec<String> =
                                    v.iter().map(|(k, v)| format!("{k:?}{w}:{w}{v}")).collect();
                                format!("{{{w}{}{w}}}", members.join(","))
                            }
                        ),
                    ]
                })
                .prop_map(|s| {
                    if s.starts_with(['{', '[']) {
                        s
                    } else {
                        format!("[{s}]")
                    }
                })
        }

        /// A container, maybe with one ASCII byte replaced, inserted or
        /// removed, and something after it.
        fn input() -> impl Strategy<Value = Vec<u8>> {
            let byte =
                prop::sample::select(b"{}[]:,\" \\0123456789.-+eEtrunlfasx\t\n\x01".to_vec());
            (container(), any::<prop::sample::Index>(), byte, 0..4u8).prop_map(
                |(text, at, byte, edit)| {
                    let mut bytes = text.into_bytes();
                    // The opening bracket stays.
                    let i = 1 + at.index(bytes.len() - 1);
                    match edit {
                        0 if bytes[i].is_ascii() => bytes[i] = byte,
                        1 => bytes.insert(i, byte),
                        2 if bytes[i].is_ascii() => {
                            bytes.remove(i);
                        }
                        _ => {}
                    }
                    bytes.extend_from_slice(b" ,x");
                    bytes
                },
            )
        }

        /// The end of the first JSON value in `bytes` by serde_json, if any.
        fn serde_end(bytes: &[u8]) -> Option<usize> {
            let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<IgnoredAny>();
            match values.next() {
                Some(Ok(_)) => Some(values.byte_offset()),
                _ => None,
            }
        }

        /// A number as JSON writes it, now and then with a fault.
        fn number() -> impl Strategy<Value = String> {
            prop_oneof![
                4 => any::<f64>().prop_map(|f| f.to_string()),
                2 => (-200.0f64..200.0).prop_map(|f| f.to_string()),
                1 => Just("0".to_string()),
                1 => "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,17})?([eE][+-]?[0-9]{1,3})?",
                1 => "[-0-9.eE+]{1,25}",
            ]
        }

        /// Arrays of small objects of numbers (the shape of GeoJSON
        /// coordinates), long enough to span many blocks, maybe edited once or
        /// twice, after a prefix that moves them against the block grid.
        fn long_input() -> impl Strategy<Value = (Vec<u8>, usize)> {
            let ws = prop_oneof![Just(""), Just(" "), Just("\n  ")];
            let point = (number(), number(), number(), "[xyz\\\"]{1,3}", ws.clone()).prop_map(
                |(x, y, z, key, w)| format!(r#"{{{w}"{key}":{w}{x},{w}"y":{w}{y}, "z": {z}{w}}}"#),
            );
            let ring = (prop::collection::vec(point, 1..12), ws.clone())
                .prop_map(|(points, w)| format!("[{w}{}{w}]", points.join(&format!(",{w}"))));
            let shape = prop::collection::vec(ring, 1..4).prop_map(|rings| {
                format!(
                    r#"{{"type": "Polygon", "coordinates": [{}]}}"#,
                    rings.join(", ")
                )
            });
            let byte = prop::sample::select(b"{}[]:,\" \\0123456789.-+eEtn\t\n\x01".to_vec());
            let edit = (any::<prop::sample::Index>(), byte, 0..3u8);
            (shape, prop::collection::vec(edit, 0..3), 0..70usize).prop_map(
                |(text, edits, shift)| {
                    let mut bytes = text.into_bytes();
                    for (at, byte, kind) in edits {
                        let i = 1 + at.index(bytes.len() - 1);
                        match kind {
                            0 => bytes[i] = byte,
                            1 => bytes.insert(i, byte),
                            _ => {
                                bytes.remove(i);
                            }
                        }
                    }
                    let mut src = vec![b' '; shift];
                    src.extend_from_slice(&bytes);
                    src.extend_from_slice(b" ,1]");
                    (src, shift)
                },
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// The AVX-512 checker and the token walk give the same answer
            /// (where the processor has AVX-512; elsewhere there is nothing
            /// to compare), on every depth limit.
            #[test]
            fn both_grammar_checkers_agree(
                (bytes, start) in prop_oneof![input().prop_map(|b| (b, 0)), long_input()],
                depth_limit in 0..70usize,
            ) {
                if let Some(avx512) = super::super::avx512::Avx512::detect() {
                    prop_assert_eq!(
                        avx512.validate_container(&bytes, start, depth_limit),
                        super::super::validate_by_tokens(&bytes, start, depth_limit),
                        "{}",
                        String::from_utf8_lossy(&bytes)
                    );
                }
            }

            /// Long valid documents are accepted whole.
            #[test]
            fn long_documents_agree_with_serde_json((bytes, start) in long_input()) {
                let expected = serde_end(&bytes[start..]).map(|end| start + end);
                prop_assert_eq!(validate_container(&bytes, start, 100), expected);
            }

            /// The block path accepts exactly the containers serde_json
            /// accepts (it leaves those with `\u` escapes to the byte path),
            /// and both find the same end.
            #[test]
            fn block_path_agrees_with_serde_json(bytes in input()) {
                let expected = serde_end(&bytes);
                let got = validate_container(&bytes, 0, 100);
                prop_assert_eq!(got, expected, "{}", String::from_utf8_lossy(&bytes));
                if let Some(end) = expected {
                    // Bracket counting finds the same end on valid JSON.
                    prop_assert_eq!(skip_container(&bytes, 0), Some(end));
                }
            }
        }
    }
}
