//! `idea ledger verify` on a ledger written through the library: verified under its registrar and not under
//! another, against a head and a checkpoint file (entries cut from the end found), read-only (the file is
//! left byte for byte), and a file that is not a ledger refused with exit 1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{idea, idea_code};

use idea_proto::{AgentId, PublicKey, SigningKey, Timestamp};
use te_contract::ledger::{Entry, Ledger, SqliteStore};
use te_contract::registry::{AvatarKind, Registration};
use te_contract::{AvatarId, Codec, DeploymentId, Signed};

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
        .submit(
            te_contract::clearing::clear(
                Vec::new(),
                &mut te_contract::wallet::Wallets::new(),
                genesis,
            )
            .ledger_entry(genesis),
        )
        .unwrap();
    let checkpoint = ledger
        .checkpoint(registrar, 0, &registrar_key, &deployment, genesis)
        .unwrap();
    ledger.commit().unwrap();
    drop(ledger);
    let checkpoint_file = dir.join("checkpoint.bin");
    std::fs::write(&checkpoint_file, checkpoint.to_bytes()).unwrap();
    let before = std::fs::read(&path).unwrap();

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
    let run_code =
        |args: Vec<String>| idea_code(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let (ok, stdout, stderr) = run(args(&key));
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["entries"], 3);
    assert_eq!(report["signatures"], 3);
    assert_eq!(report["checkpoints"], 1);
    assert_eq!(report["anchored"], false);
    let head = report["head"].as_str().unwrap().to_owned();
    assert!(head.starts_with("3:"), "{head}");
    let other = PublicKey::from(&SigningKey::from_bytes(&[9; 32])).to_string();
    let (code, _, stderr) = run_code(args(&other));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("signature"), "{stderr}");
    // Anchored by the head printed and by the checkpoint file.
    let with = |extra: &[&str]| {
        let mut a = args(&key);
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        run_code(a)
    };
    assert_eq!(with(&["--head", &head]).0, Some(0));
    let checkpoint_arg = checkpoint_file.to_str().unwrap();
    assert_eq!(with(&["--checkpoint", checkpoint_arg]).0, Some(0));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "verification left the file as it was"
    );
    // A copy cut after the checkpoint's entry: still verifies alone, not against the head it had.
    let cut = dir.join("cut.db");
    std::fs::copy(&path, &cut).unwrap();
    rusqlite::Connection::open(&cut)
        .unwrap()
        .execute("DELETE FROM entries WHERE seq = 3", [])
        .unwrap();
    let on_cut = |extra: &[&str]| {
        let mut a = args(&key);
        a[2] = cut.to_str().unwrap().to_owned();
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        run_code(a)
    };
    assert_eq!(on_cut(&[]).0, Some(0));
    let (code, _, stderr) = on_cut(&["--head", &head]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the chain ends at entry 2"), "{stderr}");
    // A bad head is a usage error.
    assert_eq!(with(&["--head", "3:zz"]).0, Some(2));
    // Not a ledger: an SQLite database of something else, and a text file; both left unchanged.
    let notes = dir.join("notes.db");
    rusqlite::Connection::open(&notes)
        .unwrap()
        .execute_batch("CREATE TABLE notes (text TEXT);")
        .unwrap();
    let text = dir.join("notes.txt");
    std::fs::write(&text, "shopping list").unwrap();
    for file in [&notes, &text] {
        let before = std::fs::read(file).unwrap();
        let mut a = args(&key);
        a[2] = file.to_str().unwrap().to_owned();
        let (code, _, stderr) = run_code(a);
        assert_eq!(code, Some(1), "{}: {stderr}", file.display());
        assert!(stderr.contains("not a ledger"), "{stderr}");
        assert_eq!(std::fs::read(file).unwrap(), before);
    }
    // A missing file is an input error.
    let mut a = args(&key);
    a[2] = dir.join("missing.db").to_str().unwrap().to_owned();
    assert_eq!(run_code(a).0, Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
