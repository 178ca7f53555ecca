//! The `idea` binary as a user runs it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

mod common;

use common::{idea, idea_code};

#[test]
fn requirements_json_lists_every_id() {
    let (ok, stdout, _) = idea(&["requirements", "--json"]);
    assert!(ok);
    let list: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 78);
    let catalogue = idea_conformance::Catalogue::builtin().unwrap();
    for (item, r) in list.iter().zip(&catalogue.requirements) {
        assert_eq!(item["id"], r.id.as_str());
        assert_eq!(item["area"], r.area.as_str());
        assert!(item["check"] == "test" || item["check"] == "declared");
        assert!(!item["text"].as_str().unwrap().is_empty());
        assert!(item["cases"].is_array());
    }
    // The coverage comes from the suites: NG-R6 is checked by the IEC 104 outstation suite.
    let ng_r6 = list.iter().find(|r| r["id"] == "NG-R6").unwrap();
    assert!(
        ng_r6["cases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "iec104-outstation/5.3/1"),
        "{ng_r6}"
    );
}

#[test]
fn requirements_area_filter() {
    let (ok, stdout, _) = idea(&["requirements", "--json", "--area", "te"]);
    assert!(ok);
    let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "TE-01", "TE-02", "TE-03", "TE-04", "TE-05", "TE-06", "TE-07", "TE-08", "TE-09"
        ]
    );
}

#[test]
fn requirements_table_and_unknown_area() {
    let (ok, stdout, _) = idea(&["requirements", "--area", "NG"]);
    assert!(ok);
    assert!(stdout.starts_with("ID"));
    assert!(stdout.contains("NG-R6"));
    assert!(
        stdout.contains("17 requirements: 17 checked by test, 0 declared"),
        "{stdout}"
    );
    let (ok, _, stderr) = idea(&["requirements", "--area", "XX"]);
    assert!(!ok);
    assert!(stderr.contains("unknown area \"XX\""), "{stderr}");
}

#[test]
fn version_and_help() {
    let (ok, stdout, _) = idea(&["--version"]);
    assert!(ok);
    assert_eq!(stdout.trim(), format!("idea {}", env!("CARGO_PKG_VERSION")));
    let (ok, stdout, _) = idea(&["--help"]);
    assert!(ok);
    assert!(stdout.contains("requirements"), "{stdout}");
}

#[test]
fn ng_pf_prints_the_power_flow_as_json() {
    let case = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ng-control/data/cases/case33bw.m"
    );
    let (ok, stdout, stderr) = idea(&["ng", "pf", case, "--json"]);
    assert!(ok, "{stderr}");
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(r["converged"], true);
    assert_eq!(r["buses"].as_array().unwrap().len(), 33);
    assert_eq!(r["buses"][17]["bus"], 18);
    assert!((r["buses"][17]["vm_pu"].as_f64().unwrap() - 0.91309).abs() < 1e-5);
    assert!((r["losses_mw"].as_f64().unwrap() - 0.202677).abs() < 1e-5);
    let b = &r["branches"][0];
    assert!(
        b["from"].is_u64()
            && b["to"].is_u64()
            && b["p_from_mw"].is_f64()
            && b["q_from_mvar"].is_f64()
    );
    assert!(b["loading"].is_null(), "no rating, no loading");
    let (ok, stdout, _) = idea(&["ng", "pf", case]);
    assert!(ok);
    assert!(
        stdout.contains("lowest voltage 0.91309 p.u. at bus 18"),
        "{stdout}"
    );
    // Issue 19: branch flows in the text view too, one line per branch of the case.
    let header = stdout
        .lines()
        .position(|l| l.contains("P FROM (MW)"))
        .expect("a branch table");
    let branches = r["branches"].as_array().unwrap();
    let rows: Vec<&str> = stdout.lines().skip(header + 1).collect();
    assert_eq!(rows.len(), branches.len(), "{stdout}");
    let first = &branches[0];
    let expected = format!("{:.4}", first["p_from_mw"].as_f64().unwrap());
    assert!(rows[0].contains(&expected), "{}: {expected}", rows[0]);
    let (ok, _, stderr) = idea(&["ng", "pf", case, "--method", "nr", "--max-iterations", "1"]);
    assert!(!ok);
    assert!(
        stderr.contains("did not converge in 1 iterations"),
        "{stderr}"
    );
    let (ok, _, stderr) = idea(&["ng", "pf", "/nonexistent.m"]);
    assert!(!ok && stderr.contains("/nonexistent.m"), "{stderr}");
}

#[test]
fn decode_iec104_prints_fields_and_json() {
    let frame = "68 12 00 00 00 00 0d 01 03 00 01 00 e9 03 00 00 00 48 42 00";
    let (ok, stdout, stderr) = idea(&["decode", "iec104", frame]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("M_ME_NC_1") && stdout.contains("IOA 1001"),
        "{stdout}"
    );
    let (ok, stdout, _) = idea(&["decode", "iec104", frame, "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["format"], "I");
    assert_eq!(v["asdu"]["type_id"], 13);
    assert_eq!(v["asdu"]["cot"], 3);
    assert_eq!(v["asdu"]["objects"][0]["value"], 50.0);
    let (ok, stdout, _) = idea(&["decode", "iec104", "68 04 07 00 00 00", "--json"]);
    assert!(ok);
    assert!(stdout.contains("STARTDT_ACT"));
    let (ok, _, stderr) = idea(&[
        "decode",
        "iec104",
        "68 0e 00 00 00 00 01 02 03 00 01 00 01 00 00 01",
    ]);
    assert!(!ok);
    assert!(stderr.contains("VSQ"), "{stderr}");
}

#[test]
fn decode_fipa_prints_fields_json_and_re_encodes() {
    let search = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fipa-acl/vectors/jade-dftest/Search.acl"
    );
    let (ok, stdout, stderr) = idea(&["decode", "fipa", search]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("reply-by         2002-03-14T09:14:00.500Z"),
        "{stdout}"
    );
    let (ok, stdout, _) = idea(&["decode", "fipa", search, "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for key in [
        "performative",
        "sender",
        "receivers",
        "reply_to",
        "content",
        "language",
        "encoding",
        "ontology",
        "protocol",
        "conversation_id",
        "reply_with",
        "in_reply_to",
        "reply_by",
        "user_params",
    ] {
        assert!(v.get(key).is_some(), "{key} missing: {stdout}");
    }
    assert_eq!(v["performative"], "request");
    assert_eq!(v["receivers"][0]["name"], "df@IBM10308:1099/JADE");
    let (ok, stdout, _) = idea(&["decode", "fipa", search, "--to", "string"]);
    assert!(ok);
    assert!(
        stdout.starts_with("(request\n :sender (agent-identifier :name da0@IBM10308:1099/JADE)"),
        "{stdout}"
    );
    let (ok, _, stderr) = idea(&["decode", "fipa", "/nonexistent.acl"]);
    assert!(!ok && stderr.contains("/nonexistent.acl"));
}

/// Issue 19: `--json` is lossless — a user-defined parameter given twice keeps both values, in order.
#[test]
fn decode_fipa_json_keeps_every_user_parameter_in_order() {
    let dir = std::env::temp_dir().join(format!("idea-fipa-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("repeated.acl");
    std::fs::write(
        &file,
        "(inform :sender (agent-identifier :name a@p) :X-tag first :X-note (set 1 2) :X-tag \"second\")",
    )
    .unwrap();
    let (ok, stdout, stderr) = idea(&["decode", "fipa", file.to_str().unwrap(), "--json"]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let params: Vec<(String, String)> = v["user_params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        params,
        [
            ("tag".to_owned(), "first".to_owned()),
            ("note".to_owned(), "(set 1 2)".to_owned()),
            ("tag".to_owned(), "second".to_owned()),
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_help_states_the_exit_codes() {
    let (ok, stdout, _) = idea(&["--help"]);
    assert!(ok);
    // The help is wrapped to the terminal: compare with the white space folded.
    let stdout = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for code in [
        "0 success",
        "1 a check or verdict failed",
        "2 usage or input error",
        "3 a peer or device did not answer",
    ] {
        assert!(stdout.contains(code), "{code}: {stdout}");
    }
}

#[test]
fn decode_modbus_prints_tcp_and_rtu_frames() {
    let (ok, stdout, stderr) = idea(&[
        "decode",
        "modbus",
        "00 01 00 00 00 06 01 03 9C 40 00 02",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["adu"], "tcp");
    assert_eq!(v["direction"], "request");
    assert_eq!(v["transaction"], 1);
    assert_eq!(v["pdu"]["address"], 40000);
    assert_eq!(v["pdu"]["count"], 2);
    // An RTU exception response: a value, decoded like any other.
    let (ok, stdout, _) = idea(&["decode", "modbus", "--rtu", "01 83 02 C0 F1", "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["direction"], "response");
    assert_eq!(v["pdu"]["exception"], 2);
    // A corrupted CRC is named.
    let (ok, _, stderr) = idea(&["decode", "modbus", "--rtu", "01 03 00 00 00 0A C5 CE"]);
    assert!(!ok);
    assert!(stderr.contains("crc"), "{stderr}");
    let (ok, stdout, _) = idea(&["decode", "modbus", "--rtu", "01 03 00 00 00 0A C5 CD"]);
    assert!(ok && stdout.contains("read holding registers"), "{stdout}");
}

#[test]
fn decode_sep2_prints_an_outline_json_and_canonical_xml() {
    let dir = std::env::temp_dir().join(format!("idea-sep2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("derc.xml");
    // Prefixed, CSIP-AUS v1.3, out of schema order, lowercase hex.
    std::fs::write(
        &file,
        r#"<s:DefaultDERControl xmlns:s="urn:ieee:std:2030.5:ns" xmlns:c="https://csipaus.org/ns/v1.3">
        <s:mRID>ab</s:mRID><s:DERControlBase><c:opModExpLimW><s:multiplier>3</s:multiplier>
        <s:value>5</s:value></c:opModExpLimW><s:opModConnect>true</s:opModConnect></s:DERControlBase>
        <s:setGradW>10</s:setGradW></s:DefaultDERControl>"#,
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let (ok, text, err) = idea(&["decode", "sep2", path]);
    assert!(ok, "{err}");
    assert!(text.starts_with("DefaultDERControl\n"), "{text}");
    assert!(
        text.contains("  mRID: 000000000000000000000000000000AB\n"),
        "{text}"
    );
    assert!(
        text.contains("    opModConnect: true\n    csipaus:opModExpLimW:\n      multiplier: 3\n"),
        "{text}"
    );

    let (ok, json, _) = idea(&["decode", "sep2", "--json", path]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["DefaultDERControl"]["DERControlBase"]["opModExpLimW"]["value"],
        5
    );
    assert_eq!(v["DefaultDERControl"]["setGradW"], 10);

    let (ok, xml, _) = idea(&["decode", "sep2", "--xml", path]);
    assert!(ok);
    assert_eq!(
        xml.trim_end(),
        "<DefaultDERControl xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:csipaus=\"https://csipaus.org/ns\">\
         <mRID>000000000000000000000000000000AB</mRID><DERControlBase><opModConnect>true</opModConnect>\
         <csipaus:opModExpLimW><multiplier>3</multiplier><value>5</value></csipaus:opModExpLimW>\
         </DERControlBase><setGradW>10</setGradW></DefaultDERControl>"
    );

    std::fs::write(&file, "<DERControl><mRID>zz</mRID></DERControl>").unwrap();
    let (ok, _, err) = idea(&["decode", "sep2", path]);
    assert!(!ok);
    assert!(err.contains("DERControl.mRID"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

/// With `--json`, a failure is one JSON object on standard error — `{"error", "exit"}` — with the same exit
/// code a person gets; without it, one line that starts with `idea:`. Usage errors from argument parsing too.
#[test]
fn failures_are_json_with_json_and_one_line_without() {
    let (code, stdout, stderr) = common::idea_code(&["decode", "iec104", "68 0", "--json"]);
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty(), "{stdout}");
    let error: serde_json::Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(error["exit"], 2);
    assert!(
        error["error"].as_str().unwrap().contains("odd count"),
        "{error}"
    );
    let (code, _, stderr) = common::idea_code(&["decode", "iec104", "68 0"]);
    assert_eq!(code, Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("idea: "), "{stderr}");
    // A usage error caught by argument parsing.
    let (code, _, stderr) = common::idea_code(&["decode", "iec104", "--json"]);
    assert_eq!(code, Some(2));
    let error: serde_json::Value = serde_json::from_str(stderr.trim()).unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("<HEX>"),
        "{error}"
    );
    // No answer: exit 3, as JSON.
    let (code, _, stderr) = common::idea_code(&[
        "iec104",
        "interrogate",
        "127.0.0.1:1",
        "--timeout",
        "1",
        "--json",
    ]);
    assert_eq!(code, Some(3), "{stderr}");
    let error: serde_json::Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(error["exit"], 3);
}

/// `idea sim run`: a topology for half an hour of simulated time, as JSON; its meter integrates what the
/// flat load drew; bad input is a usage error.
#[test]
fn a_topology_runs_in_simulated_time() {
    let dir = std::env::temp_dir().join(format!("idea-sim-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shop.toml");
    std::fs::write(
        &file,
        "name = \"shop\"\nstep_ms = 1000\n[grid]\nbus = \"n\"\n[[bus]]\nname = \"n\"\nkv = 0.4\n[[load]]\nname = \"shop\"\nbus = \"n\"\nkw = 3.0\n[[meter]]\nname = \"m\"\nelement = \"shop\"\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let (ok, stdout, stderr) =
        idea(&["sim", "run", "--topology", path, "--hours", "0.5", "--json"]);
    assert!(ok, "{stderr}");
    assert!(stderr.is_empty(), "no progress when piped: {stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["steps"], 1800);
    let import = json["meters"][0]["import_kwh"].as_f64().unwrap();
    assert!(
        (import - 1.5).abs() < 1e-9,
        "3 kW for half an hour: {import}"
    );
    let (ok, stdout, _) = idea(&["sim", "run", "--topology", path, "--hours", "0.1"]);
    assert!(
        ok && stdout.contains("shop: 0.10 h simulated in 360 steps"),
        "{stdout}"
    );
    let (code, _, stderr) = idea_code(&["sim", "run", "--hours=-1"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--hours -1"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
