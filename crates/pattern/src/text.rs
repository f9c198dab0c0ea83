//! Case-insensitive matching for the `equals-ignore-case` family, as
//! event-ruler defines it.
//!
//! A pattern character stands for exactly two strings: its lower-case and
//! its upper-case form, each mapped alone (Java's `Locale.ROOT` mappings of a
//! one-character string, which are Unicode's full mappings). So `ß` accepts
//! `ß` and `SS`, `ς` accepts `Σ`, `ǅ` accepts `ǆ` and `Ǆ` but not itself,
//! and `K` accepts `k` and `K` but not the Kelvin sign. Both strings are
//! not lower-cased and compared: that would be a different relation.
//!
//! Indexes need a key that every accepted value shares with its pattern.
//! [`key_into`] maps each character of a value to the fixed point of
//! "upper-case, then lower-case" (`ß` → `ss`, `ẞ` → `ß` → `ss`); a pattern
//! character's two forms always get the same key (a test walks every
//! character), so an accepted value's key equals its pattern's. Values with
//! that key are then checked with [`CasePattern`]. ASCII patterns need no
//! check: they accept only ASCII, where the key is plain ASCII lower case.

/// A pattern compiled into its characters' forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CasePattern {
    /// One per pattern character.
    forms: Vec<Forms>,
}

/// A character's lower-case and upper-case forms, as UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Forms {
    lower: Box<[u8]>,
    upper: Box<[u8]>,
}

fn forms_of(c: char) -> Forms {
    let lower: String = c.to_lowercase().collect();
    let upper: String = c.to_uppercase().collect();
    Forms {
        lower: lower.into_bytes().into_boxed_slice(),
        upper: upper.into_bytes().into_boxed_slice(),
    }
}

impl CasePattern {
    pub(crate) fn new(pattern: &str) -> CasePattern {
        CasePattern {
            forms: pattern.chars().map(forms_of).collect(),
        }
    }

    /// Approximate heap bytes held.
    pub(crate) fn memory_usage(&self) -> usize {
        self.forms
            .iter()
            .map(|f| 32 + f.lower.len() + f.upper.len())
            .sum()
    }

    /// The key every value this pattern accepts has.
    pub(crate) fn key(&self) -> Vec<u8> {
        let mut key = Vec::new();
        let mut part = Vec::new();
        for forms in &self.forms {
            key_into(&forms.lower, &mut part);
            key.extend_from_slice(&part);
        }
        key
    }

    /// Whether the pattern accepts all of `value`.
    pub(crate) fn equals(&self, value: &[u8]) -> bool {
        self.accepted_start(value) == Some(value.len())
    }

    /// Whether the pattern accepts a start of `value`.
    pub(crate) fn is_prefix_of(&self, value: &[u8]) -> bool {
        self.accepted_start(value).is_some()
    }

    /// Whether the pattern accepts an end of `value`.
    pub(crate) fn is_suffix_of(&self, value: &[u8]) -> bool {
        let mut taken = 0;
        for Forms { lower, upper } in self.forms.iter().rev() {
            let rest = &value[..value.len() - taken];
            taken += if rest.ends_with(lower) {
                lower.len()
            } else if rest.ends_with(upper) {
                upper.len()
            } else {
                return false;
            };
        }
        true
    }

    /// The length of the start of `value` the pattern accepts, if one is.
    /// Of a character's two forms, neither starts or ends the other unless
    /// they are equal (a test walks every character), so at most one fits
    /// at any place and the walk never has to choose.
    fn accepted_start(&self, value: &[u8]) -> Option<usize> {
        let mut taken = 0;
        for Forms { lower, upper } in &self.forms {
            let rest = &value[taken..];
            taken += if rest.starts_with(lower) {
                lower.len()
            } else if rest.starts_with(upper) {
                upper.len()
            } else {
                return None;
            };
        }
        Some(taken)
    }
}

/// Writes the case key of `value` into `out` (cleared first): each
/// character mapped to its upper case, then lower case, until that no
/// longer changes it. ASCII is lower-cased byte by byte; bytes that are not
/// UTF-8 are kept as they are.
pub(crate) fn key_into(value: &[u8], out: &mut Vec<u8>) {
    out.clear();
    if value.is_ascii() {
        ascii_lower_into(value, out);
        return;
    }
    let Ok(text) = std::str::from_utf8(value) else {
        out.extend_from_slice(value);
        return;
    };
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase() as u8);
        } else {
            push_char_key(c, out);
        }
    }
}

/// Characters a character's key can hold: its upper case has at most three,
/// each lower-cases to at most two, and the exhaustive test below passes
/// every character through this bound.
const KEY_CHARS: usize = 8;

/// Appends the key of one character: upper case, then lower case, until
/// that no longer changes it (without allocating).
fn push_char_key(c: char, out: &mut Vec<u8>) {
    let mut current = [c; KEY_CHARS];
    let mut len = 1;
    loop {
        let mut next = ['\0'; KEY_CHARS];
        let mut next_len = 0;
        let mapped = current[..len]
            .iter()
            .flat_map(|c| c.to_uppercase())
            .flat_map(char::to_lowercase);
        for k in mapped.take(KEY_CHARS) {
            next[next_len] = k;
            next_len += 1;
        }
        if next[..next_len] == current[..len] {
            break;
        }
        (current, len) = (next, next_len);
    }
    let mut buf = [0u8; 4];
    for k in &current[..len] {
        out.extend_from_slice(k.encode_utf8(&mut buf).as_bytes());
    }
}

/// Writes `value` with ASCII letters lower-cased into `out` (cleared first).
/// This is the key of ASCII patterns: they accept only ASCII, byte for byte
/// up to ASCII case.
#[inline]
pub(crate) fn ascii_lower_into(value: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(value.iter().map(u8::to_ascii_lowercase));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(value: &str) -> Vec<u8> {
        let mut out = Vec::new();
        key_into(value.as_bytes(), &mut out);
        out
    }

    #[test]
    fn every_character_s_two_forms_share_a_key_and_never_nest() {
        for c in (0..=0x10_FFFFu32).filter_map(char::from_u32) {
            let Forms { lower, upper } = forms_of(c);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            key_into(&lower, &mut a);
            key_into(&upper, &mut b);
            assert_eq!(a, b, "U+{:04X}", c as u32);
            if lower != upper {
                let nested = lower.starts_with(&upper)
                    || upper.starts_with(&lower)
                    || lower.ends_with(&upper)
                    || upper.ends_with(&lower);
                assert!(
                    !nested,
                    "U+{:04X}: one form starts or ends the other",
                    c as u32
                );
            }
        }
    }

    #[test]
    fn character_keys_fit_their_bound() {
        for c in (0x80..=0x10_FFFFu32).filter_map(char::from_u32) {
            let mut unbounded = c.to_string();
            loop {
                let next: String = unbounded
                    .chars()
                    .flat_map(char::to_uppercase)
                    .flat_map(char::to_lowercase)
                    .collect();
                if next == unbounded {
                    break;
                }
                unbounded = next;
            }
            assert!(unbounded.chars().count() < KEY_CHARS, "U+{:04X}", c as u32);
            let mut out = Vec::new();
            push_char_key(c, &mut out);
            assert_eq!(out, unbounded.as_bytes(), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn keys() {
        assert_eq!(key("EvEnTb"), b"eventb");
        assert_eq!(key("Straße"), "strasse".as_bytes());
        assert_eq!(key("ẞ"), "ss".as_bytes());
        let mut out = Vec::new();
        key_into(b"\xff\xfeAB", &mut out);
        assert_eq!(out, b"\xff\xfeAB");
    }

    #[test]
    fn each_pattern_character_stands_for_its_two_forms() {
        let yes = [
            ("ß", "SS"),
            ("ß", "ß"),
            ("straße", "STRASSE"),
            ("ς", "Σ"),
            ("ı", "I"),
            ("ﬀ", "FF"),
            ("οδος", "ΟΔΟΣ"),
            ("ǅ", "ǆ"),
            ("ǅ", "Ǆ"),
            ("\u{212A}", "k"),
            ("Alice", "aLICE"),
        ];
        for (pattern, value) in yes {
            assert!(
                CasePattern::new(pattern).equals(value.as_bytes()),
                "{pattern} {value}"
            );
        }
        let no = [
            ("ǅ", "ǅ"),
            ("ß", "ẞ"),
            ("ß", "ss"),
            ("ﬀ", "ff"),
            ("K", "\u{212A}"),
            ("s", "ſ"),
            ("alice", "alic"),
        ];
        for (pattern, value) in no {
            assert!(
                !CasePattern::new(pattern).equals(value.as_bytes()),
                "{pattern} {value}"
            );
        }
        assert!(CasePattern::new("straß").is_prefix_of("STRASSE".as_bytes()));
        assert!(!CasePattern::new("straß").is_prefix_of("STRASE".as_bytes()));
        assert!(CasePattern::new("ᾼ").is_suffix_of("ΑΙ".as_bytes()));
        assert!(CasePattern::new("ßs").is_suffix_of("xSSS".as_bytes()));
        assert!(!CasePattern::new("ßs").is_suffix_of("xSS".as_bytes()));
    }
}
