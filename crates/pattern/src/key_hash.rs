//! A fast hash for the byte-string keys of the scanner's field table and the
//! automaton's value maps.

/// A fast hash for byte-string keys (FxHash's multiply-rotate, eight bytes
/// at a time). The keys stored are pattern values, which are trusted; event
/// values only probe, so an adversarial event cannot lengthen any chain.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct KeyHasher(u64);

/// Builds [`KeyHasher`]s, for `HashMap`s keyed by byte strings.
pub(crate) type KeyHashBuilder = std::hash::BuildHasherDefault<KeyHasher>;

impl std::hash::Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}
