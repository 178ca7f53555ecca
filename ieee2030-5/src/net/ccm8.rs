//! `TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8` (0xC0AE), the cipher suite IEEE 2030.5-2018 clause 6.11 makes
//! mandatory, as a rustls TLS 1.2 cipher suite: ECDHE key exchange, ECDSA certificates, the TLS 1.2 PRF with
//! SHA-256, and AES-128 in CCM mode with an 8-byte tag (RFC 6655, RFC 7251) from RustCrypto's `ccm` and
//! `aes` crates.
//!
//! The record protection is RFC 6655's: the 12-byte nonce is the 4-byte salt of the key block followed by an
//! 8-byte explicit part sent in front of each record (here the salt's partner from the key block XORed with
//! the record sequence number, so it never repeats on a connection); the additional data is the sequence
//! number, record type, version and plaintext length (RFC 5246 §6.2.3.3); the 8-byte tag follows the
//! ciphertext.
//!
//! Key exchange, signatures and the PRF are rustls's own (its *ring* provider's, as for the AES-GCM suites),
//! so only the AEAD is new code. An 8-byte tag gives 2⁻⁶⁴ forgery odds per attempt, which is why the
//! configurations in [`super::tls`] prefer the AES-GCM suites and negotiate CCM-8 only with a peer that
//! offers nothing better.

use aes::Aes128;
use ccm::aead::generic_array::GenericArray;
use ccm::aead::{AeadInPlace, KeyInit};
use ccm::consts::{U8, U12};
use rustls::crypto::cipher::{
    AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv, KeyBlockShape, MessageDecrypter,
    MessageEncrypter, NONCE_LEN, Nonce, OutboundOpaqueMessage, OutboundPlainMessage,
    PrefixedPayload, Tls12AeadAlgorithm, UnsupportedOperationError, make_tls12_aad,
};
use rustls::crypto::{KeyExchangeAlgorithm, ring};
use rustls::{
    CipherSuite, CipherSuiteCommon, ConnectionTrafficSecrets, Error, SupportedCipherSuite,
    Tls12CipherSuite,
};
use std::sync::OnceLock;

/// AES-128 in CCM mode, 8-byte tag, 12-byte nonce.
type Aes128Ccm8 = ccm::Ccm<Aes128, U8, U12>;

/// Bytes of the nonce sent before each record's ciphertext.
const EXPLICIT_NONCE_LEN: usize = 8;
/// Bytes of the tag after it.
const TAG_LEN: usize = 8;
/// The largest plaintext of a record (RFC 5246 §6.2.1).
const MAX_FRAGMENT_LEN: usize = 16_384;

/// `TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8` for a rustls [`rustls::crypto::CryptoProvider`]'s cipher suites.
#[doc(alias = "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8")]
pub fn tls_ecdhe_ecdsa_with_aes_128_ccm_8() -> SupportedCipherSuite {
    static SUITE: OnceLock<Option<&'static Tls12CipherSuite>> = OnceLock::new();
    let suite = SUITE.get_or_init(|| {
        // The hash, PRF and signature schemes of the ECDHE-ECDSA AES-128-GCM suite: the same as CCM-8's.
        let SupportedCipherSuite::Tls12(gcm) =
            ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        else {
            return None;
        };
        Some(Box::leak(Box::new(Tls12CipherSuite {
            common: CipherSuiteCommon {
                suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
                hash_provider: gcm.common.hash_provider,
                // As for AES-GCM: 2²⁴ full-size records per key (the block cipher's bound).
                confidentiality_limit: 1 << 24,
            },
            prf_provider: gcm.prf_provider,
            kx: KeyExchangeAlgorithm::ECDHE,
            sign: gcm.sign,
            aead_alg: &Ccm8,
        })))
    });
    match suite {
        Some(suite) => SupportedCipherSuite::Tls12(suite),
        // rustls's ring provider always has the GCM suite; were it ever missing, offer that instead of
        // inventing parameters.
        None => ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    }
}

/// The TLS 1.2 record protection of AES-128-CCM-8.
struct Ccm8;

impl Ccm8Encrypter {
    /// From the 16-byte key, the 4-byte salt and the explicit part's start (random, from rustls).
    fn new(key: &[u8], salt: &[u8], explicit: &[u8]) -> Ccm8Encrypter {
        let mut nonce = [0u8; NONCE_LEN];
        for (slot, byte) in nonce.iter_mut().zip(salt.iter().chain(explicit)) {
            *slot = *byte;
        }
        Ccm8Encrypter {
            cipher: Aes128Ccm8::new_from_slice(key).ok(),
            iv: Iv::new(nonce),
        }
    }
}

impl Ccm8Decrypter {
    /// From the 16-byte key and the 4-byte salt.
    fn new(key: &[u8], salt: &[u8]) -> Ccm8Decrypter {
        let mut own = [0u8; 4];
        for (slot, byte) in own.iter_mut().zip(salt) {
            *slot = *byte;
        }
        Ccm8Decrypter {
            cipher: Aes128Ccm8::new_from_slice(key).ok(),
            salt: own,
        }
    }
}

impl Tls12AeadAlgorithm for Ccm8 {
    fn encrypter(&self, key: AeadKey, iv: &[u8], extra: &[u8]) -> Box<dyn MessageEncrypter> {
        Box::new(Ccm8Encrypter::new(key.as_ref(), iv, extra))
    }

    fn decrypter(&self, key: AeadKey, iv: &[u8]) -> Box<dyn MessageDecrypter> {
        Box::new(Ccm8Decrypter::new(key.as_ref(), iv))
    }

    fn key_block_shape(&self) -> KeyBlockShape {
        KeyBlockShape {
            enc_key_len: 16,
            fixed_iv_len: 4,
            explicit_nonce_len: EXPLICIT_NONCE_LEN,
        }
    }

    fn extract_keys(
        &self,
        _key: AeadKey,
        _iv: &[u8],
        _explicit: &[u8],
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        // Kernel TLS has no CCM-8 to hand the keys to.
        Err(UnsupportedOperationError)
    }
}

/// Seals records; `cipher` is `None` only for a key of the wrong length, and then every record fails.
struct Ccm8Encrypter {
    cipher: Option<Aes128Ccm8>,
    iv: Iv,
}

struct Ccm8Decrypter {
    cipher: Option<Aes128Ccm8>,
    salt: [u8; 4],
}

impl MessageEncrypter for Ccm8Encrypter {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        let cipher = self.cipher.as_ref().ok_or(Error::EncryptError)?;
        let plain_len = msg.payload.len();
        let mut payload = PrefixedPayload::with_capacity(self.encrypted_payload_len(plain_len));
        let nonce = Nonce::new(&self.iv, seq).0;
        let aad = make_tls12_aad(seq, msg.typ, msg.version, plain_len);
        payload.extend_from_slice(nonce.get(4..).unwrap_or_default());
        payload.extend_from_chunks(&msg.payload);
        let body = payload
            .as_mut()
            .get_mut(EXPLICIT_NONCE_LEN..)
            .ok_or(Error::EncryptError)?;
        let tag = cipher
            .encrypt_in_place_detached(GenericArray::from_slice(&nonce), &aad, body)
            .map_err(|_| Error::EncryptError)?;
        payload.extend_from_slice(&tag);
        Ok(OutboundOpaqueMessage::new(msg.typ, msg.version, payload))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len
            .saturating_add(EXPLICIT_NONCE_LEN)
            .saturating_add(TAG_LEN)
    }
}

impl MessageDecrypter for Ccm8Decrypter {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let cipher = self.cipher.as_ref().ok_or(Error::DecryptError)?;
        let payload = &mut msg.payload;
        let Some(plain_len) = payload.len().checked_sub(EXPLICIT_NONCE_LEN + TAG_LEN) else {
            return Err(Error::DecryptError);
        };
        if plain_len > MAX_FRAGMENT_LEN {
            return Err(Error::PeerSentOversizedRecord);
        }
        let mut nonce = [0u8; NONCE_LEN];
        for (slot, byte) in nonce.iter_mut().zip(
            self.salt
                .iter()
                .chain(payload.iter().take(EXPLICIT_NONCE_LEN)),
        ) {
            *slot = *byte;
        }
        let aad = make_tls12_aad(seq, msg.typ, msg.version, plain_len);
        let sealed = payload
            .get_mut(EXPLICIT_NONCE_LEN..)
            .ok_or(Error::DecryptError)?;
        let (body, tag) = sealed.split_at_mut(plain_len);
        cipher
            .decrypt_in_place_detached(
                GenericArray::from_slice(&nonce),
                &aad,
                body,
                GenericArray::from_slice(tag),
            )
            .map_err(|_| Error::DecryptError)?;
        // The plaintext to the front, where rustls reads it.
        payload.copy_within(
            EXPLICIT_NONCE_LEN..EXPLICIT_NONCE_LEN.saturating_add(plain_len),
            0,
        );
        payload.truncate(plain_len);
        Ok(msg.into_plain_message())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use rustls::ContentType;
    use rustls::ProtocolVersion;
    use rustls::crypto::cipher::OutboundChunks;

    fn pair() -> (Ccm8Encrypter, Ccm8Decrypter) {
        let key = [7u8; 16];
        (
            Ccm8Encrypter::new(&key, &[1, 2, 3, 4], &[5, 6, 7, 8, 9, 10, 11, 12]),
            Ccm8Decrypter::new(&key, &[1, 2, 3, 4]),
        )
    }

    #[test]
    fn the_suite_is_the_mandatory_one() {
        let suite = tls_ecdhe_ecdsa_with_aes_128_ccm_8();
        assert_eq!(
            suite.suite(),
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8
        );
        assert_eq!(u16::from(suite.suite()), 0xC0AE);
        let shape = Ccm8.key_block_shape();
        assert_eq!(
            (
                shape.enc_key_len,
                shape.fixed_iv_len,
                shape.explicit_nonce_len
            ),
            (16, 4, 8)
        );
    }

    #[test]
    fn a_record_round_trips_and_a_changed_bit_is_refused() {
        let (mut seal, mut open) = pair();
        let plain = b"GET /dcap HTTP/1.1\r\n\r\n";
        let message = OutboundPlainMessage {
            typ: ContentType::ApplicationData,
            version: ProtocolVersion::TLSv1_2,
            payload: OutboundChunks::Single(plain),
        };
        let sealed = seal.encrypt(message, 3).unwrap().encode();
        // Header (5) + explicit nonce (8) + ciphertext + tag (8).
        assert_eq!(sealed.len(), 5 + 8 + plain.len() + 8);
        assert_eq!(seal.encrypted_payload_len(plain.len()), 8 + plain.len() + 8);
        let open_at = |open: &mut Ccm8Decrypter, bytes: &[u8], seq: u64| {
            let mut copy = bytes.to_vec();
            let inbound = InboundOpaqueMessage::new(
                ContentType::ApplicationData,
                ProtocolVersion::TLSv1_2,
                &mut copy[5..],
            );
            open.decrypt(inbound, seq).map(|m| m.payload.to_vec())
        };
        assert_eq!(open_at(&mut open, &sealed, 3).unwrap(), plain);
        // Another sequence number (the additional data differs), a flipped ciphertext bit, a flipped tag bit.
        assert!(matches!(
            open_at(&mut open, &sealed, 4),
            Err(Error::DecryptError)
        ));
        for at in [5 + 8, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[at] ^= 1;
            assert!(
                matches!(open_at(&mut open, &bad, 3), Err(Error::DecryptError)),
                "{at}"
            );
        }
        // Too short to hold a nonce and a tag.
        assert!(matches!(
            open_at(&mut open, &sealed[..5 + 15], 3),
            Err(Error::DecryptError)
        ));
    }

    #[test]
    fn the_explicit_nonce_never_repeats_on_a_connection() {
        let (mut seal, _) = pair();
        let nonces: Vec<Vec<u8>> = (0..64u64)
            .map(|seq| {
                let message = OutboundPlainMessage {
                    typ: ContentType::ApplicationData,
                    version: ProtocolVersion::TLSv1_2,
                    payload: OutboundChunks::Single(b"x"),
                };
                seal.encrypt(message, seq).unwrap().encode()[5..13].to_vec()
            })
            .collect();
        let mut unique = nonces.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), nonces.len());
    }
}
