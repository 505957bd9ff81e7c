//! Input rules of the identity registry: fingerprints, token hashes, ids.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use super::{NewApiKey, PeerEntry, StoreError, MIN_TOKEN_BYTES};
use crate::acl::scope::{grant_problem, token_problem};

/// Length of a SHA-256 or Ed25519 key in hex.
pub(crate) const HEX_LEN: usize = 64;

/// SHA-256 of `bytes`, lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    crate::audit::hex(&sha256(bytes))
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The canonical form of a key fingerprint: `ed25519:<64 lowercase hex>`
/// or `SHA256:<64 lowercase hex>` (prefixes and hex accepted in any case).
///
/// # Errors
///
/// [`StoreError::Invalid`] naming the value for anything else.
///
/// # Example
///
/// ```
/// use alknet_graphs::identity::normalize_fingerprint;
/// let upper = format!("ED25519:{}", "AB".repeat(32));
/// assert_eq!(normalize_fingerprint(&upper)?, format!("ed25519:{}", "ab".repeat(32)));
/// assert!(normalize_fingerprint("ed25519:xyz").is_err());
/// # Ok::<(), alknet_graphs::identity::StoreError>(())
/// ```
pub fn normalize_fingerprint(fingerprint: &str) -> Result<String, StoreError> {
    canonical_fingerprint(fingerprint)
        .map(Cow::into_owned)
        .ok_or_else(|| {
            StoreError::Invalid(format!(
                "fingerprint {fingerprint:?} is not ed25519:<64 hex digits> or SHA256:<64 hex digits>"
            ))
        })
}

/// The canonical form, borrowed when `fingerprint` already is canonical
/// (the hot path allocates nothing).
pub(crate) fn canonical_fingerprint(fingerprint: &str) -> Option<Cow<'_, str>> {
    let (prefix, hex) = fingerprint.split_once(':')?;
    if hex.len() != HEX_LEN {
        return None;
    }
    let lowercase_hex = hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if lowercase_hex && (prefix == "ed25519" || prefix == "SHA256") {
        return Some(Cow::Borrowed(fingerprint));
    }
    let canonical_prefix = if prefix.eq_ignore_ascii_case("ed25519") {
        "ed25519"
    } else if prefix.eq_ignore_ascii_case("sha256") {
        "SHA256"
    } else {
        return None;
    };
    if !lowercase_hex && !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(Cow::Owned(format!(
        "{canonical_prefix}:{}",
        hex.to_ascii_lowercase()
    )))
}

/// A stored token hash: 64 hex digits, lowercased.
///
/// # Errors
///
/// [`StoreError::Invalid`] naming the value otherwise.
pub fn normalize_token_hash(hash: &str) -> Result<String, StoreError> {
    if hash.len() == HEX_LEN && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hash.to_ascii_lowercase())
    } else {
        Err(StoreError::Invalid(format!(
            "auth_token_hash {hash:?} is not a SHA-256 in hex (64 hex digits); \
             pass the token itself to PeerEntry::token to hash it"
        )))
    }
}

/// A peer id: a token (non-empty, no whitespace or control characters,
/// at most 256 bytes), as ACL identity ids are.
pub(crate) fn check_id(what: &str, id: &str) -> Result<(), StoreError> {
    match token_problem(what, id) {
        Some(reason) => Err(StoreError::Invalid(reason)),
        None => Ok(()),
    }
}

/// The grant rule every holder follows (see `acl::scope::grant_problem`).
fn check_grants(
    whose: &str,
    scopes: &[String],
    resources: &std::collections::HashMap<String, Vec<String>>,
) -> Result<(), StoreError> {
    match grant_problem(scopes, resources) {
        Some(reason) => Err(StoreError::Invalid(format!("{whose}: {reason}"))),
        None => Ok(()),
    }
}

/// Checks and canonicalizes a peer before any transaction starts:
/// fingerprints and token hash normalized, scopes and actions sorted and
/// deduplicated.
pub(crate) fn peer(mut peer: PeerEntry) -> Result<PeerEntry, StoreError> {
    check_id("peer_id", &peer.peer_id)?;
    let whose = format!("peer {:?}", peer.peer_id);
    let mut fingerprints = Vec::with_capacity(peer.fingerprints.len());
    for fingerprint in &peer.fingerprints {
        let canonical = normalize_fingerprint(fingerprint)
            .map_err(|e| StoreError::Invalid(format!("{whose}: {e}")))?;
        if !fingerprints.contains(&canonical) {
            fingerprints.push(canonical);
        }
    }
    peer.fingerprints = fingerprints;
    if let Some(len) = peer.given_token_len() {
        if len < MIN_TOKEN_BYTES {
            return Err(StoreError::Invalid(short_token(&peer.peer_id, len)));
        }
    }
    if let Some(hash) = &peer.auth_token_hash {
        peer.auth_token_hash = Some(
            normalize_token_hash(hash).map_err(|e| StoreError::Invalid(format!("{whose}: {e}")))?,
        );
    }
    check_grants(&whose, &peer.scopes, &peer.resources)?;
    tidy(&mut peer.scopes);
    peer.resources.values_mut().for_each(tidy);
    Ok(peer)
}

/// Why a token of `len` bytes cannot be `peer_id`'s.
pub(crate) fn short_token(peer_id: &str, len: usize) -> String {
    format!(
        "peer {peer_id:?}: a token must be at least {MIN_TOKEN_BYTES} bytes (got {len}); \
         generate one with PeerEntry::generate_token"
    )
}

/// Checks and canonicalizes an API key to create.
pub(crate) fn api_key(mut key: NewApiKey) -> Result<NewApiKey, StoreError> {
    if key.name.trim().is_empty() || key.name.len() > 256 || key.name.chars().any(char::is_control)
    {
        return Err(StoreError::Invalid(format!(
            "API key name {:?} must be 1 to 256 bytes of printable text",
            key.name
        )));
    }
    check_id("owner_id", &key.owner_id)?;
    check_grants(
        &format!("API key {:?}", key.name),
        &key.scopes,
        &key.resources,
    )?;
    tidy(&mut key.scopes);
    key.resources.values_mut().for_each(tidy);
    Ok(key)
}

/// A provider name of the credential store.
pub(crate) fn provider(provider: &str) -> Result<(), StoreError> {
    check_id("provider", provider)
}

fn tidy(list: &mut Vec<String>) {
    list.sort();
    list.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_normalize_or_name_the_value() {
        let hex = "0123456789abcdef".repeat(4);
        let canonical = format!("ed25519:{hex}");
        assert!(matches!(
            canonical_fingerprint(&canonical),
            Some(Cow::Borrowed(_))
        ));
        assert_eq!(
            normalize_fingerprint(&format!("sha256:{}", hex.to_uppercase())).unwrap(),
            format!("SHA256:{hex}")
        );
        for bad in [
            "",
            "ed25519:",
            "rsa:00",
            &format!("ed25519:{}", &hex[1..]),
            &format!("ed25519:{hex}0"),
            &format!("ed25519: {}", &hex[1..]),
            &format!("ed25519:{}g", &hex[1..]),
        ] {
            let err = normalize_fingerprint(bad).unwrap_err();
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn peers_are_checked_and_tidied() {
        let peer = peer(
            PeerEntry::new("p")
                .fingerprint(format!("ED25519:{}", "AA".repeat(32)))
                .fingerprint(format!("ed25519:{}", "aa".repeat(32)))
                .scopes(["b", "a", "b"]),
        )
        .unwrap();
        assert_eq!(peer.fingerprints.len(), 1);
        assert_eq!(peer.scopes, ["a", "b"]);
        let err = super::peer(PeerEntry::new("p").scopes(["has space"])).unwrap_err();
        assert!(err.to_string().starts_with("peer \"p\": "), "{err}");
        assert!(super::peer(PeerEntry::new("")).is_err());
        let mut bad_hash = PeerEntry::new("p");
        bad_hash.auth_token_hash = Some("plain-token".into());
        assert!(super::peer(bad_hash)
            .unwrap_err()
            .to_string()
            .contains("\"plain-token\""));
    }
}
