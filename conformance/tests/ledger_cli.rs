//! `idea ledger verify` on a ledger written through the library.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::idea;

use idea_proto::{AgentId, PublicKey, SigningKey, Timestamp};
use te_contract::ledger::{Entry, Ledger, RecordKind, SqliteStore};
use te_contract::registry::{AvatarKind, Registration};
use te_contract::{AvatarId, DeploymentId, Signed};

#[test]
fn a_ledger_verifies_under_its_registrar_and_not_under_another() {
    let dir = std::env::temp_dir().join(format!("idea-ledger-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.db");
    let _ = std::fs::remove_file(&path);
    let deployment = DeploymentId::new("idea-demo").unwrap();
    let genesis: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
    let registrar = AvatarId::from_bytes([1; 16]);
    let registrar_key = SigningKey::from_bytes(&[1; 32]);
    let agent = AvatarId::from_bytes([2; 16]);
    let agent_key = SigningKey::from_bytes(&[2; 32]);
    let mut registration = Signed::new(
        deployment.clone(),
        Registration {
            registrar,
            avatar: agent,
            kind: AvatarKind::Agent(AgentId::new("agent-2").unwrap()),
            key: PublicKey::from(&agent_key),
            at: genesis,
        },
    );
    registration.sign(registrar, 0, &registrar_key).unwrap();
    registration.sign(agent, 0, &agent_key).unwrap();
    let mut ledger = Ledger::open(SqliteStore::open(&path).unwrap()).unwrap();
    ledger
        .submit(Entry::signed(&registration, genesis))
        .unwrap();
    ledger
        .submit(Entry::record(
            RecordKind::Clearing,
            [3; 16],
            1,
            genesis,
            b"run 1".to_vec(),
        ))
        .unwrap();
    ledger.commit().unwrap();
    drop(ledger);

    let file = path.to_str().unwrap();
    let key = PublicKey::from(&registrar_key).to_string();
    let registrar_hex = registrar.to_string();
    let args = |key: &str| {
        vec![
            "ledger".to_owned(),
            "verify".into(),
            file.into(),
            "--deployment".into(),
            "idea-demo".into(),
            "--registrar".into(),
            registrar_hex.clone(),
            "--registrar-key".into(),
            key.into(),
            "--genesis".into(),
            "2026-11-24T10:00:00Z".into(),
            "--json".into(),
        ]
    };
    let run = |args: Vec<String>| idea(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let (ok, stdout, stderr) = run(args(&key));
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["entries"], 2);
    assert_eq!(report["signatures"], 2);
    assert_eq!(report["head"]["seq"], 2);
    let other = PublicKey::from(&SigningKey::from_bytes(&[9; 32])).to_string();
    let (ok, _, stderr) = run(args(&other));
    assert!(!ok);
    assert!(stderr.contains("signature"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
