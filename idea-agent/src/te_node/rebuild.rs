//! A TE node rebuilt from its ledger after a restart (TE-01, TE-07): the ledger is verified first — every
//! hash, link and signature, and every clearing record's consistency — then replayed in order: the
//! registry's registrations, rotations and revocations, the recorded contracts, the settled intervals (still
//! due, or paid by a recorded clearing run), the clearing runs' transfers and the deposits. Since every
//! movement of money is in the ledger, the wallets come back to the cent. The node then appends to the same
//! ledger.
//!
//! Which agent (by its transport name) hears each avatar's notices comes back from the binding records; an
//! agent that registers again with the key it holds is bound again (a registration the registry already
//! holds). The meters enrolled before the rebuild ([`TeNode::enrol_meter`]) are read again, their reading
//! series replayed from the readings the ledger holds; a meter not enrolled again is no longer read.

use super::{TeNode, clearing::DueInterval};
use idea_proto::{SigningKey, Timestamp};
use te_contract::clearing::{ClearingReport, Obligation, Pool, Source};
use te_contract::contract::Contract;
use te_contract::ledger::{Anchor, LedgerStore, RecordKind};
use te_contract::registry::{KeyRotation, Registration, Revocation};
use te_contract::settlement::{DeliveryCheck, settlement_debt_id};
use te_contract::wallet::Deposit;
use te_contract::{Codec, DeploymentId, MessageKind, Signed};

/// What a rebuild found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rebuilt {
    /// Entries replayed.
    pub entries: u64,
    /// Avatars registered.
    pub avatars: usize,
    /// Contracts recorded.
    pub contracts: usize,
    /// Settled intervals still waiting for a clearing run.
    pub due: usize,
    /// Deposits.
    pub deposits: u64,
    /// Debt payment channels opened (TE-09).
    pub channels: usize,
    /// Meters read (enrolled and registered).
    pub meters: usize,
}

/// The earliest time a registry over the ledger must begin at: the first entry's, or the earliest time a
/// registration in it names (an agent's clock may run behind the node's), if the ledger holds anything.
fn earliest_time(store: &impl LedgerStore) -> crate::Result<Option<Timestamp>> {
    let mut earliest: Option<Timestamp> = None;
    store.scan(1, &mut |stored| {
        let mut at = stored.entry.at;
        if stored.entry.kind == MessageKind::Registration.code() {
            let registration = Signed::<Registration>::decode_exact(&stored.entry.body)?;
            at = at.min(registration.body().at);
        }
        earliest = Some(earliest.map_or(at, |e| e.min(at)));
        Ok(())
    })?;
    Ok(earliest)
}

fn decode<T: Codec>(body: &[u8]) -> crate::Result<T> {
    Ok(T::decode_exact(body)?)
}

impl TeNode {
    /// The registrar node of `deployment` (as [`TeNode::registrar`] makes it, with `key` and `admission`, and
    /// `meters` enrolled) rebuilt from the ledger `store` ([`TeNode::rebuild`]); its registry begins at the earliest time the
    /// ledger holds (its first entry, or a registration's own time if earlier; `now` for an empty ledger).
    ///
    /// # Errors
    /// As [`TeNode::rebuild`].
    pub fn rebuilt_registrar(
        deployment: DeploymentId,
        key: SigningKey,
        admission: crate::Admission,
        meters: &[super::EnrolledMeter],
        store: &impl LedgerStore,
        now: Timestamp,
    ) -> crate::Result<(TeNode, Rebuilt)> {
        let genesis = earliest_time(store)?.unwrap_or(now);
        let mut node = TeNode::registrar(deployment, key, admission, genesis);
        for meter in meters {
            node.enrol_meter(meter.clone())?;
        }
        node.rebuild(store)
    }

    /// This node — fresh: its registry holds only its registrar, from a genesis no later than the ledger's
    /// first entry — rebuilt from the ledger `store`: verified under the registry's registrar, key and
    /// genesis, then replayed in order (see the module documentation). It keeps ledger entries from then on
    /// (they go to the same ledger).
    ///
    /// # Errors
    /// The ledger's verification failure (a node does not start over a ledger that does not verify); an
    /// entry of a kind the node does not record; an entry the replay refuses.
    pub fn rebuild(self, store: &impl LedgerStore) -> crate::Result<(TeNode, Rebuilt)> {
        let registry = &self.registry;
        let registrar = registry.registrar();
        let key = registry
            .avatar(&registrar)
            .and_then(|a| a.keys.first())
            .map(|k| k.key)
            .ok_or_else(|| {
                crate::Error::NotRegistered("the registry has no registrar key".into())
            })?;
        te_contract::audit::verify(
            store,
            registry.deployment(),
            registrar,
            key,
            registry.genesis(),
            &Anchor::None,
        )?;
        let mut node = self.with_ledger_entries();
        let mut report = Rebuilt::default();
        store.scan(1, &mut |stored| {
            node.replay(&stored.entry, &mut report)
                .map_err(|e| te_contract::Error::Store(format!("entry {}: {e}", stored.seq)))
        })?;
        node.entries.clear();
        report.avatars = node.registry.len();
        report.contracts = node.contracts.len();
        report.due = node.due.len();
        report.deposits = node.deposits;
        report.channels = node.channels.len();
        report.meters = node.meters.len();
        Ok((node, report))
    }

    fn replay(
        &mut self,
        entry: &te_contract::ledger::Entry,
        report: &mut Rebuilt,
    ) -> crate::Result<()> {
        let at = entry.at;
        let body = entry.body.as_slice();
        report.entries = report.entries.saturating_add(1);
        match MessageKind::from_code(entry.kind) {
            Some(MessageKind::Registration) => {
                let registration = decode::<Signed<Registration>>(body)?;
                self.registry.register(&registration)?;
                self.registered_at
                    .insert(registration.body().avatar, registration.body().at);
                // An enrolled meter is read again; its readings that follow rebuild its series.
                self.read_enrolled(registration.body());
            }
            Some(MessageKind::KeyRotation) => {
                self.registry
                    .rotate(&decode::<Signed<KeyRotation>>(body)?)?;
            }
            Some(MessageKind::Revocation) => {
                self.registry.revoke(&decode::<Signed<Revocation>>(body)?)?;
            }
            Some(MessageKind::Contract) => {
                let signed = decode::<Signed<Contract>>(body)?;
                let id = signed.body().id();
                let cell = signed.body().delivery_point().cell.clone();
                self.contracts.record(signed, &self.registry, at)?;
                self.by_cell.entry(cell).or_default().push(id);
            }
            Some(MessageKind::MeterReading) => {
                let signed = decode::<Signed<te_contract::meter::MeterReading>>(body)?;
                if let Some(series) = self.meters.get_mut(&signed.body().meter) {
                    series.accept(&signed, &self.registry, at)?;
                }
            }
            Some(MessageKind::ChannelOpen) => {
                let signed = decode::<Signed<te_contract::channel::ChannelOpen>>(body)?;
                signed.verify(&self.registry, self.registry.deployment(), at)?;
                self.channel_opened(signed.body().clone());
            }
            Some(MessageKind::ChannelState) => {
                let signed = decode::<Signed<te_contract::channel::ChannelState>>(body)?;
                signed.verify(&self.registry, self.registry.deployment(), at)?;
                self.channel_state(signed.body().clone(), at)?;
            }
            Some(MessageKind::ChannelCloseRequest) => {
                let signed = decode::<Signed<te_contract::channel::CloseRequest>>(body)?;
                signed.verify(&self.registry, self.registry.deployment(), at)?;
                self.channel_closing(signed.body().channel, signed.body().counter);
                self.finish_closes(at);
            }
            Some(MessageKind::LedgerCheckpoint) => {}
            _ => match RecordKind::from_code(entry.kind) {
                Some(RecordKind::Settlement) => self.replay_settlement(decode(body)?, at)?,
                Some(RecordKind::Clearing) => self.replay_clearing(&decode(body)?)?,
                Some(RecordKind::Binding) => {
                    let binding: te_contract::registry::Binding = decode(body)?;
                    // The registration that bound it was no later than the binding was recorded.
                    let last = self.registered_at.entry(binding.avatar).or_insert(at);
                    *last = (*last).max(at);
                    self.agents.insert(binding.avatar, binding.name);
                    self.bindings = self.bindings.max(binding.sequence);
                }
                Some(RecordKind::Deposit) => {
                    let deposit: Deposit = decode(body)?;
                    self.wallets.deposit(deposit.avatar, deposit.amount)?;
                    self.deposits = self.deposits.max(deposit.sequence);
                }
                _ => {
                    return Err(crate::Error::NotRegistered(format!(
                        "entry kind {:#06x} is not one this node records",
                        entry.kind
                    )));
                }
            },
        }
        Ok(())
    }

    fn replay_settlement(&mut self, check: DeliveryCheck, at: Timestamp) -> crate::Result<()> {
        let id = check.contract;
        let interval = check.interval;
        let contract = self
            .contracts
            .get(&id)
            .map(|c| c.signed.body().clone())
            .ok_or_else(|| {
                crate::Error::NotRegistered(format!("settlement of unrecorded contract {id}"))
            })?;
        let amount = check.amount;
        self.settlement.restore(check, at)?;
        let count = self.settled.entry(id).or_insert(0);
        *count = count.saturating_add(1);
        let debt = settlement_debt_id(&id, interval);
        let in_pool = amount.minor_units != 0;
        if in_pool {
            let (from, to, owed) = if amount.minor_units > 0 {
                (contract.buyer, contract.seller, amount)
            } else {
                (contract.seller, contract.buyer, amount.checked_neg()?)
            };
            let pool = match self.pool.as_mut() {
                Some(pool) => pool,
                None => self
                    .pool
                    .insert(Pool::new(self.clearing_period, at).map_err(crate::Error::Te)?),
            };
            pool.add(Obligation {
                source: Source::Transfer(debt),
                from,
                to,
                amount: owed,
            })?;
        }
        self.due.insert(
            debt,
            DueInterval {
                transaction: id,
                interval,
                seller: contract.seller,
                buyer: contract.buyer,
                amount_minor: amount.minor_units,
                currency: amount.currency,
                in_pool,
                channel: None,
            },
        );
        Ok(())
    }

    fn replay_clearing(&mut self, report: &ClearingReport) -> crate::Result<()> {
        // The pool as the run left it: what it settled or set aside leaves it, the next run is a period on.
        if let Some(pool) = self.pool.as_mut() {
            let done = report
                .settled
                .iter()
                .chain(report.set_aside.iter().map(|s| &s.obligation));
            for o in done {
                pool.remove(&o.source);
            }
            pool.resume_after(report.period_end)?;
        }
        self.apply_run(report);
        self.channel_payments(report);
        self.finish_closes(report.period_end);
        for (from, to, money) in &report.transfers {
            self.wallets.transfer(*from, *to, *money)?;
        }
        Ok(())
    }
}
