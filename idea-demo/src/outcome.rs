//! What a scenario came to once it ran: its trades, each cell's money and the ledger, read back as evidence,
//! and the checks run on them.

use crate::Options;
use crate::checks;
use crate::complex::{Complex, DEPLOYMENT};
use crate::error::Result;
use crate::report::{CellMoney, IntervalRecord, ScenarioReport, TradeRecord};
use crate::scenario::{Recorded, Scenario};
use idea_proto::Timestamp;
use std::collections::BTreeMap;

/// Ends the run of `scenario` on `c`: the complex leaves the broker, the ledger at `ledger_path` is read back
/// read-only, and the report is made with its checks.
pub(crate) async fn conclude(
    scenario: Scenario,
    options: &Options,
    mut c: Complex,
    recorded: Recorded,
    ledger_path: &std::path::Path,
    start: Timestamp,
    end: Timestamp,
) -> Result<ScenarioReport> {
    let Recorded {
        newcomer,
        frequency,
        open_relays,
        switched,
        intervals,
        raw_system,
        raw_cells,
        commands,
        trading_from,
    } = recorded;
    let (registrar_avatar, registrar_key, genesis) = (
        c.registrar.avatar,
        idea_proto::PublicKey::from(&c.registrar.key),
        c.registrar.genesis,
    );
    let seed = c.seed;
    let cells_of: Vec<(String, String, idea_proto::PowerCell)> = c
        .cells
        .iter()
        .map(|x| {
            (
                x.bus.clone(),
                x.agent.settings().cell.id.as_str().to_owned(),
                x.agent.settings().cell.clone(),
            )
        })
        .collect();
    let messages = c.wire.carried;
    // Ratings from the topology: the hubs' converters and the router, W.
    let hub_rating_w = c.layout.hub_kw() * 1000.0;
    let router_rating_w = c.layout.router_kva() * 1000.0;
    let mut troubles = std::mem::take(&mut c.troubles);
    let seen = std::mem::take(&mut c.seen);
    let peak_router_w = raw_system
        .iter()
        .map(|s| s.peak_router_w)
        .fold(0.0, f64::max);
    let node = c.finish().await?;
    let deployment = te_contract::DeploymentId::new(DEPLOYMENT)?;
    let evidence = checks::read_ledger(
        ledger_path,
        &deployment,
        registrar_avatar,
        registrar_key,
        genesis,
    );
    // The contracts recorded, by id; each cell's avatar.
    let avatar_of: BTreeMap<te_contract::AvatarId, String> = cells_of
        .iter()
        .map(|(_, id, _)| (crate::keys::avatar(seed, id), id.clone()))
        .collect();
    let contracts: BTreeMap<String, te_contract::contract::Contract> = node
        .contracts()
        .iter()
        .map(|r| (r.signed.body().id().to_string(), r.signed.body().clone()))
        .collect();
    let cell_index: BTreeMap<&str, usize> = cells_of
        .iter()
        .enumerate()
        .map(|(k, (_, id, _))| (id.as_str(), k))
        .collect();
    let interval_index = |at: Timestamp| {
        intervals
            .iter()
            .position(|i: &IntervalRecord| i.start == at)
    };
    let counted_export = |contract: &te_contract::contract::Contract, interval: u32| {
        let at = contract
            .transaction
            .terms
            .window
            .interval_start(interval)
            .ok()?;
        let seller = avatar_of.get(&contract.seller)?;
        let k = *cell_index.get(seller.as_str())?;
        let i = interval_index(at)?;
        raw_cells.get(i)?.get(k).map(|p| p.export_wh)
    };
    let mut checks_run = vec![
        checks::energy_balance(scenario.requirement(), &raw_system),
        checks::ledger_verifies(&evidence),
        checks::settlements(&evidence, &contracts, &counted_export),
    ];
    // Trades and what each cell's settled intervals came to.
    let mut trades = Vec::new();
    let mut settled: BTreeMap<String, i64> = BTreeMap::new();
    // Each contract's settlement (its first, as recorded), by contract id.
    let mut settlement_of: BTreeMap<String, &te_contract::settlement::DeliveryCheck> =
        BTreeMap::new();
    for s in &evidence.settlements {
        settlement_of.entry(s.contract.to_string()).or_insert(s);
    }
    for (id, contract) in &contracts {
        let seller = avatar_of.get(&contract.seller).cloned().unwrap_or_default();
        let buyer = avatar_of.get(&contract.buyer).cloned().unwrap_or_default();
        let terms = &contract.transaction.terms;
        let s = settlement_of.get(id).copied();
        if let Some(s) = s {
            let a = s.amount.minor_units;
            let to_seller = settled.entry(seller.clone()).or_default();
            *to_seller = to_seller.saturating_add(a);
            let from_buyer = settled.entry(buyer.clone()).or_default();
            *from_buyer = from_buyer.saturating_sub(a);
        }
        trades.push(TradeRecord {
            id: id.clone(),
            seller,
            buyer,
            start: terms.window.start(),
            contracted_wh: terms.contracted_energy(0).map_or(0, |e| e.wh()),
            price_minor_per_kwh: terms.price.minor_units_per_kwh,
            delivered_wh: s.map(|s| s.delivered_wh),
            amount_minor: s.map(|s| s.amount.minor_units),
            penalty_minor: s.map(|s| s.penalty.minor_units),
        });
    }
    trades.sort_by(|a, b| (a.start, &a.seller, &a.id).cmp(&(b.start, &b.seller, &b.id)));
    let eur = crate::complex::eur()?;
    let money: Vec<CellMoney> = cells_of
        .iter()
        .map(|(_, id, _)| CellMoney {
            cell: id.clone(),
            opening_minor: crate::complex::OPENING_BALANCE_MINOR,
            closing_minor: node
                .wallets()
                .balance(&crate::keys::avatar(seed, id), eur)
                .minor_units,
            settled_minor: settled.get(id).copied().unwrap_or(0),
        })
        .collect();
    let moves: Vec<(String, i64, i64)> = money
        .iter()
        .map(|m| {
            (
                m.cell.clone(),
                m.closing_minor.saturating_sub(m.opening_minor),
                m.settled_minor,
            )
        })
        .collect();
    checks_run.push(checks::money(&moves));
    let cells_for_limits: Vec<(String, idea_proto::PowerCell)> = cells_of
        .iter()
        .map(|(_, id, cell)| (id.clone(), cell.clone()))
        .collect();
    checks_run.push(checks::limits(
        &cells_for_limits,
        &raw_cells,
        &commands,
        hub_rating_w,
        router_rating_w,
        peak_router_w,
    ));
    checks_run.push(trading_check(scenario, &trades, &intervals, trading_from));
    checks_run.push(checks::relays(
        scenario.requirement(),
        &open_relays,
        &switched,
    ));
    if let Some(fault) = options.fault.filter(|f| f.scenario() == scenario) {
        let after = seen.from;
        let cell2 = cells_of.iter().position(|(bus, _, _)| bus == "cell2");
        let generation_after = cell2.map(|k| {
            intervals
                .iter()
                .zip(&raw_cells)
                .filter(|(i, _)| after.is_some_and(|f| i.start >= f))
                .filter_map(|(_, cells)| cells.get(k).map(|p| p.generation_wh))
                .sum::<f64>()
        });
        let shed = intervals.last().map_or(0, |i| i.shed.len());
        checks_run.push(crate::fault::check(
            fault,
            &seen,
            &trades,
            &evidence.settlements,
            generation_after,
            shed,
        ));
    }
    if let Some(n) = &newcomer {
        checks_run.push(checks::newcomer(n, &trades));
    }
    if scenario.isolated() {
        checks_run.push(checks::island_held(&raw_system));
        checks_run.push(checks::frequency_norms(&frequency));
    }
    if !troubles.is_empty() {
        troubles.dedup();
        checks_run.push(crate::report::Check::new(
            "no-refusals",
            "TE-04",
            false,
            troubles.join("; "),
        ));
    }
    let passed = checks_run.iter().all(|c| c.passed);
    let report = ScenarioReport {
        scenario: scenario.name().into(),
        title: scenario.title().into(),
        requirement: scenario.requirement().into(),
        start,
        end,
        cells: cells_of.iter().map(|(_, id, _)| id.clone()).collect(),
        intervals,
        trades,
        money,
        ledger: crate::report::LedgerSummary {
            deployment: DEPLOYMENT.into(),
            registrar: registrar_avatar.to_string(),
            registrar_key: idea_proto::hex::encode(&registrar_key.to_bytes()),
            genesis: genesis.to_string(),
            ..evidence.summary
        },
        messages,
        checks: checks_run,
        passed,
    };
    if let Some(live) = &options.live {
        live.update(|s| {
            s.finished.push(crate::live::LiveVerdict {
                scenario: report.scenario.clone(),
                passed: report.passed,
                checks: report.checks.clone(),
            });
        });
    }
    if options.ledger_dir.is_none() {
        let _ = std::fs::remove_file(ledger_path);
    }
    Ok(report)
}

/// S1's trades: none while it runs without transactions, some after, and every one settled.
fn trading_check(
    scenario: Scenario,
    trades: &[TradeRecord],
    intervals: &[IntervalRecord],
    trading_from: Timestamp,
) -> crate::report::Check {
    let early = trades.iter().filter(|t| t.start < trading_from).count();
    let unsettled: Vec<&str> = trades
        .iter()
        .filter(|t| t.amount_minor.is_none())
        .map(|t| t.id.as_str())
        .collect();
    let flows = intervals
        .iter()
        .filter(|i| i.cells.iter().any(|c| c.setpoint_w.is_some()))
        .count();
    let passed = early == 0 && !trades.is_empty() && unsettled.is_empty() && flows > 0;
    let when = if intervals.first().is_some_and(|i| i.start < trading_from) {
        "in the second half"
    } else {
        "throughout"
    };
    let detail = format!(
        "{} contracts recorded and settled {when}, {early} before; flows commanded in {flows} intervals{}",
        trades.len(),
        if unsettled.is_empty() {
            String::new()
        } else {
            format!("; not settled: {}", unsettled.join(", "))
        }
    );
    crate::report::Check::new("trades-settled", scenario.requirement(), passed, detail)
}
