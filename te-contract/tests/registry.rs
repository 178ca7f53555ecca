//! Avatars and keys: registration with proof of possession, weak keys, rotation, revocation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::{World, key, later};
use idea_proto::PublicKey;
use te_contract::registry::{Archive, KeyRotation, Registration, Revocation};
use te_contract::{AvatarId, Codec, Error, KeyResolver, Signed};

#[test]
fn a_registration_needs_the_registrar_and_the_new_key() {
    let mut w = World::new("idea-test", 1);
    let id = AvatarId::from_bytes([50; 16]);
    let good = w.registration(id, &key(50));
    // The new avatar's signature made with another key: no proof of possession.
    let mut forged = Signed::new(w.deployment.clone(), good.body().clone());
    forged.sign(w.registrar, 0, &w.registrar_key).unwrap();
    forged.sign(id, 0, &key(51)).unwrap();
    assert!(matches!(
        w.registry.register(&forged),
        Err(Error::BadSignature { .. })
    ));
    // Someone else posing as registrar.
    let mut stranger = Signed::new(
        w.deployment.clone(),
        Registration {
            registrar: w.ids[0],
            ..good.body().clone()
        },
    );
    stranger.sign(w.ids[0], 0, &w.keys[0]).unwrap();
    stranger.sign(id, 0, &key(50)).unwrap();
    assert!(matches!(
        w.registry.register(&stranger),
        Err(Error::Invalid {
            field: "registrar",
            ..
        })
    ));
    w.registry.register(&good).unwrap();
    assert!(matches!(
        w.registry.register(&good),
        Err(Error::Duplicate { what: "avatar", .. })
    ));
    assert_eq!(w.registry.len(), 3);
}

#[test]
fn weak_and_invalid_keys_are_refused_when_decoded() {
    let w = World::new("idea-test", 0);
    let good = w
        .registration(AvatarId::from_bytes([50; 16]), &key(50))
        .to_bytes();
    let key_bytes = PublicKey::from(&key(50)).to_bytes();
    let at = good.windows(32).position(|win| win == key_bytes).unwrap();
    // The identity point (small order) and a y coordinate that is not on the curve.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut not_on_curve = [0u8; 32];
    not_on_curve[0] = 2;
    for bad in [identity, not_on_curve] {
        let mut bytes = good.clone();
        bytes[at..at + 32].copy_from_slice(&bad);
        let err = Signed::<Registration>::decode_exact(&bytes).unwrap_err();
        assert!(matches!(err, Error::Decode { field: "key", .. }), "{err}");
    }
}

fn rotation(
    w: &World,
    i: usize,
    version: u32,
    old: u8,
    new: u8,
    minutes: u64,
) -> Signed<KeyRotation> {
    let mut r = Signed::new(
        w.deployment.clone(),
        KeyRotation {
            avatar: w.ids[i],
            version,
            key: PublicKey::from(&key(new)),
            at: later(minutes),
        },
    );
    r.sign(w.ids[i], version - 1, &key(old)).unwrap();
    r.sign(w.ids[i], version, &key(new)).unwrap();
    r
}

#[test]
fn a_rotated_key_signs_nothing_new_but_its_past_still_verifies() {
    let mut w = World::new("idea-test", 1);
    let id = w.ids[0];
    w.registry.rotate(&rotation(&w, 0, 1, 10, 60, 5)).unwrap();
    assert!(w.registry.key(&id, 0, later(4)).is_ok());
    assert!(matches!(
        w.registry.key(&id, 0, later(5)),
        Err(Error::KeyNotValid {
            reason: "rotated out",
            ..
        })
    ));
    assert_eq!(
        w.registry.key(&id, 1, later(5)).unwrap(),
        PublicKey::from(&key(60))
    );
    assert!(Archive(&w.registry).key(&id, 0, later(500)).is_ok());
    // Versions go one at a time; a key is never reused; the old key must sign.
    assert!(matches!(
        w.registry.rotate(&rotation(&w, 0, 3, 60, 61, 6)),
        Err(Error::Invalid {
            field: "version",
            ..
        })
    ));
    assert!(matches!(
        w.registry.rotate(&rotation(&w, 0, 2, 60, 10, 6)),
        Err(Error::Invalid { field: "key", .. })
    ));
    assert!(matches!(
        w.registry.rotate(&rotation(&w, 0, 2, 10, 61, 6)),
        Err(Error::BadSignature { .. })
    ));
    // Changes come in time order.
    assert!(matches!(
        w.registry.rotate(&rotation(&w, 0, 2, 60, 61, 1)),
        Err(Error::Invalid { field: "at", .. })
    ));
    w.registry.rotate(&rotation(&w, 0, 2, 60, 61, 6)).unwrap();
}

#[test]
fn a_revoked_key_verifies_nothing_from_its_revocation_on() {
    let mut w = World::new("idea-test", 2);
    let (victim, stranger) = (w.ids[0], w.ids[1]);
    let revocation = |by, k: &idea_proto::SigningKey, minutes| {
        let mut r = Signed::new(
            w.deployment.clone(),
            Revocation {
                by,
                avatar: victim,
                version: 0,
                at: later(minutes),
            },
        );
        r.sign(by, 0, k).unwrap();
        r
    };
    assert!(matches!(
        w.registry.revoke(&revocation(stranger, &w.keys[1], 3)),
        Err(Error::Invalid { field: "by", .. })
    ));
    let by_registrar = revocation(w.registrar, &w.registrar_key, 3);
    w.registry.revoke(&by_registrar).unwrap();
    assert!(w.registry.key(&victim, 0, later(2)).is_ok());
    assert!(matches!(
        w.registry.key(&victim, 0, later(3)),
        Err(Error::KeyNotValid {
            reason: "revoked",
            ..
        })
    ));
    assert!(matches!(
        Archive(&w.registry).key(&victim, 0, later(3)),
        Err(Error::KeyNotValid {
            reason: "revoked",
            ..
        })
    ));
    assert!(Archive(&w.registry).key(&victim, 0, later(2)).is_ok());
}

#[test]
fn unknown_avatars_and_versions_are_errors() {
    let w = World::new("idea-test", 1);
    let nobody = AvatarId::from_bytes([99; 16]);
    assert_eq!(
        w.registry.key(&nobody, 0, later(0)),
        Err(Error::UnknownAvatar(nobody))
    );
    assert!(matches!(
        w.registry.key(&w.ids[0], 7, later(0)),
        Err(Error::KeyNotValid {
            reason: "no such key",
            ..
        })
    ));
    assert!(matches!(
        w.registry.key(
            &w.ids[0],
            0,
            common::t0()
                .checked_sub(idea_proto::Duration::from_secs(1))
                .unwrap()
        ),
        Err(Error::KeyNotValid {
            reason: "not yet added",
            ..
        })
    ));
}
