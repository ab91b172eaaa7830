//! Challenge and response with HMAC (chapter 13): the server proves that a
//! client knows the shared key without the key ever crossing the wire.
//!
//! 1. The server sends 32 random bytes, fresh for every connection.
//! 2. The client answers `HMAC(key, challenge)`.
//! 3. The server computes the same and compares in constant time; a
//!    comparison that stops at the first wrong byte would tell an attacker,
//!    by its timing, how many leading bytes were right.
//!
//! The course's `hmac.new(key, msg)` names no digest: Python 2 and Python 3
//! before 3.8 used MD5, and Python 3.8 and later refuse the call. SHA-256
//! is the default here; MD5 stays available to talk to the old programs.

use hmac::{Hmac, Mac};

use crate::trace::Varies;

use super::{Conn, Framed, ProtoError};

/// Length of the challenge.
pub const CHALLENGE_LEN: usize = 32;

/// The hash inside the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Sha256,
    Md5,
}

impl Digest {
    /// `sha256` or `md5`.
    pub fn parse(name: &str) -> Result<Digest, String> {
        match name {
            "sha256" => Ok(Digest::Sha256),
            "md5" => Ok(Digest::Md5),
            other => Err(format!("digest `{other}`: use sha256 or md5")),
        }
    }

    /// `HMAC-SHA256` or `HMAC-MD5`, as the trace shows it.
    pub fn name(self) -> &'static str {
        match self {
            Digest::Sha256 => "HMAC-SHA256",
            Digest::Md5 => "HMAC-MD5",
        }
    }

    /// Length of the answer: 32 bytes for SHA-256, 16 for MD5.
    pub fn output_len(self) -> usize {
        match self {
            Digest::Sha256 => 32,
            Digest::Md5 => 16,
        }
    }
}

/// 32 bytes from the operating system's random generator.
pub fn challenge() -> Result<[u8; CHALLENGE_LEN], ProtoError> {
    let mut c = [0u8; CHALLENGE_LEN];
    getrandom::fill(&mut c)
        .map_err(|e| ProtoError::Io(std::io::Error::other(format!("no randomness: {e}"))))?;
    Ok(c)
}

/// `HMAC(key, challenge)` with `digest`.
pub fn answer(key: &[u8], challenge: &[u8], digest: Digest) -> Vec<u8> {
    match digest {
        Digest::Sha256 => mac::<Hmac<sha2::Sha256>>(key, challenge),
        Digest::Md5 => mac::<Hmac<md5::Md5>>(key, challenge),
    }
}

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut m = <M as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

/// Whether `response` is the right answer, compared in constant time.
pub fn verify(key: &[u8], challenge: &[u8], response: &[u8], digest: Digest) -> bool {
    fn check<M: Mac + hmac::digest::KeyInit>(key: &[u8], msg: &[u8], tag: &[u8]) -> bool {
        let mut m = <M as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
        m.update(msg);
        m.verify_slice(tag).is_ok()
    }
    match digest {
        Digest::Sha256 => check::<Hmac<sha2::Sha256>>(key, challenge, response),
        Digest::Md5 => check::<Hmac<md5::Md5>>(key, challenge, response),
    }
}

/// The server's side: challenge, read the answer, check it. `Ok(())` means
/// the client may go on; the caller closes the connection on `Refused`.
pub fn server<C: Conn>(
    framed: &mut Framed<C>,
    key: &[u8],
    digest: Digest,
) -> Result<(), ProtoError> {
    let challenge = challenge()?;
    framed.conn.varies(Varies::Random, &challenge);
    framed.conn.send_all(&challenge)?;
    let response = framed.read_exact("the HMAC answer", digest.output_len())?;
    if verify(key, &challenge, &response, digest) {
        Ok(())
    } else {
        Err(ProtoError::Refused(
            "the answer is not HMAC(key, challenge): wrong key or no key".into(),
        ))
    }
}

/// The client's side: read the challenge, answer it. Returns the answer.
pub fn client<C: Conn>(
    framed: &mut Framed<C>,
    key: &[u8],
    digest: Digest,
) -> Result<Vec<u8>, ProtoError> {
    let challenge = framed.read_exact("the challenge", CHALLENGE_LEN)?;
    let response = answer(key, &challenge, digest);
    // An answer computed from random bytes is as random as they are.
    framed.conn.varies(Varies::Random, &response);
    framed.conn.send_all(&response)?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // RFC 4231 test case 2 and RFC 2104's MD5 example.
        let sha = answer(b"Jefe", b"what do ya want for nothing?", Digest::Sha256);
        assert_eq!(
            sha[..4],
            [0x5b, 0xdc, 0xc1, 0x46],
            "HMAC-SHA256 starts 5bdcc146"
        );
        let md5 = answer(b"Jefe", b"what do ya want for nothing?", Digest::Md5);
        assert_eq!(md5[..4], [0x75, 0x0c, 0x78, 0x3e]);
        assert!(verify(
            b"Jefe",
            b"what do ya want for nothing?",
            &md5,
            Digest::Md5
        ));
        assert!(!verify(
            b"Jeff",
            b"what do ya want for nothing?",
            &md5,
            Digest::Md5
        ));
        assert!(!verify(b"Jefe", b"x", &md5[..15], Digest::Md5));
    }
}
