//! Meter-to-cash, second half: delivery verified against the contract, discrepancies recorded with the data
//! they rest on, disputes within a deadline, and money moved as soon as an interval is verified (TE-03..TE-05).
//!
//! Per interval: the delivered energy is what the contract's delivery-point meter counted in the interval
//! (its [`DeliveryToken`]): the export of the seller's cell, or in a P2O contract where the cell buys, the
//! cell's import. A token counts only if the registry binds its meter to that cell
//! ([`crate::registry::AvatarKind::Meter`]) and that meter's avatar signed it with a key valid at
//! settlement. Within the tolerance band the contracted quantity is paid in full. Outside it the buyer pays
//! for what was delivered, up to the contracted quantity, and the seller owes the penalty price on each Wh of
//! deviation beyond the band; the two are netted into one amount and a discrepancy is recorded. Each (contract, interval) settles once. Where several contracts deliver at the same point in
//! the same interval, the token's energy is allocated among them in proportion to what each contracted
//! ([`allocate`]) and each settles on its share; a token is never allocated beyond what it counted.

use crate::channel::{ChannelOpen, Debt};
use crate::clearing::{Obligation, Pool, Source};
use crate::codec::{Codec, Put, Reader};
use crate::contract::{Contract, Flow};
use crate::error::{Error, Result};
use crate::id::{AvatarId, DebtId, DeploymentId};
use crate::ledger::{Entry, EntryKind, RecordKind};
use crate::meter::DeliveryToken;
use crate::registry::Registry;
use crate::signed::{Body, KeyResolver, MessageKind, Signed};
use crate::wallet::Wallets;
use idea_proto::{CellId, Duration, Energy, Money, Timestamp, TransactionId};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The longest dispute reason, bytes.
pub const MAX_REASON_LEN: usize = 2048;

/// What one interval's delivery came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryCheck {
    /// The contract.
    pub contract: TransactionId,
    /// The interval.
    pub interval: u32,
    /// Contracted, Wh.
    pub contracted_wh: i64,
    /// Delivered: what the token counted at the delivery point, or this contract's share of it when several
    /// contracts deliver there in the interval ([`allocate`]), Wh.
    pub delivered_wh: i64,
    /// The deviation settled without penalty, Wh.
    pub allowance_wh: i64,
    /// Whether the delivery rests on interpolated meter data.
    pub estimated: bool,
    /// The meter's signed token it rests on.
    pub token: Signed<DeliveryToken>,
    /// What the buyer pays the seller, net of the penalty (negative: the seller pays the buyer).
    pub amount: Money,
    /// The penalty inside `amount` (zero within the band).
    pub penalty: Money,
}

impl DeliveryCheck {
    /// The ledger entry recording this settlement, keyed by contract and interval (so an interval is
    /// recorded once).
    pub fn ledger_entry(&self, at: Timestamp) -> Entry {
        Entry::record(
            RecordKind::Settlement,
            *self.contract.as_bytes(),
            u64::from(self.interval),
            at,
            self.to_bytes(),
        )
    }

    /// Whether delivery was outside the tolerance band.
    pub fn is_discrepancy(&self) -> bool {
        self.delivered_wh.abs_diff(self.contracted_wh) > self.allowance_wh.unsigned_abs()
    }
}

/// Layout: contract (16 bytes), interval (u32), contracted, delivered and allowance (i64, Wh), estimated
/// (0 or 1), the token, the amount and the penalty (money).
impl Codec for DeliveryCheck {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.contract.as_bytes());
        out.put_u32(self.interval);
        out.put_i64(self.contracted_wh);
        out.put_i64(self.delivered_wh);
        out.put_i64(self.allowance_wh);
        out.put_bool(self.estimated);
        self.token.encode(out);
        out.put_money(self.amount);
        out.put_money(self.penalty);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(DeliveryCheck {
            contract: TransactionId::from_bytes(r.array("contract")?),
            interval: r.u32("interval")?,
            contracted_wh: r.i64("contracted_wh")?,
            delivered_wh: r.i64("delivered_wh")?,
            allowance_wh: r.i64("allowance_wh")?,
            estimated: r.bool("estimated")?,
            token: Signed::<DeliveryToken>::read(r)?,
            amount: r.money("amount")?,
            penalty: r.money("penalty")?,
        })
    }
}

/// The registry's binding of meters to the cells they measure and the keys they sign with, as settlement
/// needs them.
pub trait MeterBindings: KeyResolver {
    /// The cell `meter` measures, if it is a registered meter.
    fn metered_cell(&self, meter: &AvatarId) -> Option<&CellId>;
}

impl MeterBindings for Registry {
    fn metered_cell(&self, meter: &AvatarId) -> Option<&CellId> {
        Registry::metered_cell(self, meter)
    }
}

/// Verifies one interval of `contract` against its delivery-point meter's token for it, at `now`. Refused
/// when the token is not valid ([`DeliveryToken::validate`]: an id not derived from its meter and interval,
/// a negative energy), its meter is not bound by `meters` to the contract's delivery point, it is not signed
/// for `deployment` by that meter with a key `meters` accepts at `now`, or it covers another interval.
pub fn verify_delivery(
    contract: &Contract,
    interval: u32,
    token: &Signed<DeliveryToken>,
    meters: &impl MeterBindings,
    deployment: &DeploymentId,
    now: Timestamp,
) -> Result<DeliveryCheck> {
    let point = contract.delivery_point();
    let body = token.body();
    body.validate()?;
    match meters.metered_cell(&body.meter) {
        Some(cell) if cell == point.cell => {
            token.verify(meters, deployment, now)?;
            assess(contract, interval, token, delivered_wh(contract, body))
        }
        Some(cell) => Err(Error::invalid(
            "token",
            format!(
                "meter {} measures cell {cell}, not the contract's delivery point {}",
                body.meter, point.cell
            ),
        )),
        None => Err(Error::invalid(
            "token",
            format!("{} is not a registered meter", body.meter),
        )),
    }
}

/// The settlement of one interval from a token already known to be the delivery point's, on `delivered_wh`
/// (the token's figure, or the one a dispute found).
fn assess(
    contract: &Contract,
    interval: u32,
    signed: &Signed<DeliveryToken>,
    delivered_wh: i64,
) -> Result<DeliveryCheck> {
    let token = signed.body();
    let terms = &contract.transaction.terms;
    let start = terms.window.interval_start(interval)?;
    if token.start != start || token.period_s != terms.window.period_s() {
        return Err(Error::invalid(
            "token",
            format!(
                "the token covers {} for {} s, not interval {interval} at {start}",
                token.start, token.period_s
            ),
        ));
    }
    let contracted = terms.contracted_energy(interval)?;
    let allowance = terms.tolerance.allowance(contracted)?;
    let delivered = Energy::from_wh(delivered_wh);
    let deviation = delivered.wh().abs_diff(contracted.wh());
    let beyond = deviation.saturating_sub(allowance.wh().unsigned_abs());
    let (paid_energy, penalty) = if beyond == 0 {
        (contracted, Money::zero(terms.price.currency))
    } else {
        let beyond = i64::try_from(beyond).map_err(|_| Error::Overflow("deviation"))?;
        (
            Energy::from_wh(delivered.wh().min(contracted.wh())),
            terms.penalty.cost_of(Energy::from_wh(beyond))?,
        )
    };
    let amount = terms.price.cost_of(paid_energy)?.checked_sub(penalty)?;
    Ok(DeliveryCheck {
        contract: contract.id(),
        interval,
        contracted_wh: contracted.wh(),
        delivered_wh: delivered.wh(),
        allowance_wh: allowance.wh(),
        estimated: token.estimated,
        token: signed.clone(),
        amount,
        penalty,
    })
}

/// A delivery outside the band, kept with its evidence and any dispute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discrepancy {
    /// Its id (derived from contract and interval).
    pub id: DebtId,
    /// The check and the token it rests on.
    pub check: DeliveryCheck,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// The last moment a party may dispute it.
    pub dispute_by: Timestamp,
    /// The dispute, if one was filed.
    pub dispute: Option<DisputeRecord>,
}

/// A party's dispute of a discrepancy, signed by that party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispute {
    /// The discrepancy.
    pub discrepancy: DebtId,
    /// The disputing party's avatar.
    pub by: AvatarId,
    /// Why.
    pub reason: String,
    /// When it was filed.
    pub filed_at: Timestamp,
}

impl Codec for Dispute {
    fn encode(&self, out: &mut Vec<u8>) {
        self.discrepancy.encode(out);
        self.by.encode(out);
        out.put_text(&self.reason);
        out.put_timestamp(self.filed_at);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Dispute {
            discrepancy: DebtId::read(r)?,
            by: AvatarId::read(r)?,
            reason: r.text("reason", MAX_REASON_LEN)?.to_owned(),
            filed_at: r.timestamp("filed_at")?,
        })
    }
}

impl Body for Dispute {
    const KIND: MessageKind = MessageKind::Dispute;
    fn scope(&self) -> [u8; 16] {
        self.discrepancy.0
    }
    fn signers(&self) -> Vec<AvatarId> {
        vec![self.by]
    }
}

/// A dispute and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeRecord {
    /// The signed dispute.
    pub filed: Signed<Dispute>,
    /// The outcome, once decided.
    pub outcome: Option<Resolution>,
}

/// How a dispute was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// When.
    pub at: Timestamp,
    /// The delivery found, Wh (the meter's figure when the dispute is rejected).
    pub delivered_wh: i64,
    /// The check recomputed on that delivery.
    pub corrected: DeliveryCheck,
    /// The money moved to correct the first settlement (positive: buyer to seller).
    pub adjustment: Money,
    /// The reasoning, for the record.
    pub note: String,
}

/// How a verified interval was paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payout {
    /// Moved between wallets at once.
    Wallet,
    /// Added as a debt to the parties' channel (paid at clearing or close).
    ChannelDebt(Debt),
}

/// The settlements of a deployment: which tokens and intervals were settled, the discrepancies and their
/// disputes.
#[derive(Debug, Clone)]
pub struct SettlementBook {
    deployment: DeploymentId,
    dispute_period: Duration,
    /// Energy allocated so far from each token, Wh.
    tokens: HashMap<[u8; 16], i64>,
    settled: HashSet<(TransactionId, u32)>,
    discrepancies: BTreeMap<DebtId, Discrepancy>,
}

impl SettlementBook {
    /// No settlements; discrepancies may be disputed for `dispute_period` after they are recorded.
    pub fn new(deployment: DeploymentId, dispute_period: Duration) -> SettlementBook {
        SettlementBook {
            deployment,
            dispute_period,
            tokens: HashMap::new(),
            settled: HashSet::new(),
            discrepancies: BTreeMap::new(),
        }
    }

    /// Verifies and settles one interval at `now`, paying through `wallets` (buyer to seller, or the
    /// reverse when the penalty outweighs the payment). Refused if `meters` does not bind the token's meter
    /// to the contract's delivery point, the meter did not sign it ([`verify_delivery`]), the token or the
    /// interval was settled before, or the payer's wallet is short (nothing changes; settle again once
    /// funded).
    pub fn settle_to_wallets(
        &mut self,
        contract: &Contract,
        interval: u32,
        token: &Signed<DeliveryToken>,
        meters: &impl MeterBindings,
        wallets: &mut Wallets,
        now: Timestamp,
    ) -> Result<DeliveryCheck> {
        let check = self.verify_new(contract, interval, token, meters, now)?;
        transfer(contract, check.amount, wallets)?;
        self.record(check.clone(), now)?;
        Ok(check)
    }

    /// Verifies and settles one interval at `now` as a debt in the parties' channel `open` (the debt to
    /// propose; its id is derived from contract and interval, its token is the meter token, so neither is
    /// ever counted twice). A net amount of zero gives no debt. Refused as
    /// [`SettlementBook::settle_to_wallets`] is, and if the contract's parties are not the channel's sides.
    pub fn settle_to_channel(
        &mut self,
        contract: &Contract,
        interval: u32,
        token: &Signed<DeliveryToken>,
        meters: &impl MeterBindings,
        open: &ChannelOpen,
        now: Timestamp,
    ) -> Result<(DeliveryCheck, Option<Debt>)> {
        let check = self.verify_new(contract, interval, token, meters, now)?;
        let side = |avatar: &AvatarId| {
            open.party_of(avatar).ok_or_else(|| {
                Error::channel(
                    open.channel,
                    format!("{avatar} is not a side of this channel"),
                )
            })
        };
        let (buyer, seller) = (side(&contract.buyer)?, side(&contract.seller)?);
        if check.amount.currency != open.currency {
            return Err(Error::invalid(
                "currency",
                "the contract and the channel differ",
            ));
        }
        let debt = match check.amount.minor_units {
            0 => None,
            n => Some(Debt {
                id: settlement_debt_id(&contract.id(), interval),
                debtor: if n > 0 { buyer } else { seller },
                amount: n
                    .checked_abs()
                    .ok_or(Error::Overflow("settlement amount"))?,
                contract: contract.id(),
                interval,
                token: Some(token.body().id),
            }),
        };
        self.record(check.clone(), now)?;
        Ok((check, debt))
    }

    /// Verifies and settles one interval at `now` as an obligation due at the next clearing of `pool`
    /// (TE-08): the buyer owes the seller the amount (the seller owes the buyer when the penalty outweighs
    /// it); its source is the interval's [`settlement_debt_id`], so it is never counted twice. A net amount
    /// of zero owes nothing. Refused as [`SettlementBook::settle_to_wallets`] is (but for the wallet, which
    /// the clearing run looks at), and when the pool is full; nothing is recorded then.
    pub fn settle_to_pool(
        &mut self,
        contract: &Contract,
        interval: u32,
        token: &Signed<DeliveryToken>,
        meters: &impl MeterBindings,
        pool: &mut Pool,
        now: Timestamp,
    ) -> Result<(DeliveryCheck, Option<Obligation>)> {
        let check = self.verify_new(contract, interval, token, meters, now)?;
        self.pay_into(contract, interval, check, pool, now)
    }

    /// Records `check` and owes its amount at the next clearing of `pool`.
    fn pay_into(
        &mut self,
        contract: &Contract,
        interval: u32,
        check: DeliveryCheck,
        pool: &mut Pool,
        now: Timestamp,
    ) -> Result<(DeliveryCheck, Option<Obligation>)> {
        let (from, to, amount) = match check.amount.minor_units {
            0 => {
                self.record(check.clone(), now)?;
                return Ok((check, None));
            }
            n if n > 0 => (contract.buyer, contract.seller, check.amount),
            _ => (contract.seller, contract.buyer, check.amount.checked_neg()?),
        };
        let obligation = Obligation {
            source: Source::Transfer(settlement_debt_id(&contract.id(), interval)),
            from,
            to,
            amount,
        };
        pool.add(obligation.clone())?;
        self.record(check.clone(), now)?;
        Ok((check, Some(obligation)))
    }

    /// As [`SettlementBook::settle_to_pool`], for one of several contracts delivered at the same point in the
    /// same interval: it settles on `share_wh` of what the token counted (its part from [`allocate`]), and is
    /// refused if the token's allocations would pass what it counted.
    #[allow(clippy::too_many_arguments)]
    pub fn settle_share_to_pool(
        &mut self,
        contract: &Contract,
        interval: u32,
        token: &Signed<DeliveryToken>,
        share_wh: i64,
        meters: &impl MeterBindings,
        pool: &mut Pool,
        now: Timestamp,
    ) -> Result<(DeliveryCheck, Option<Obligation>)> {
        let check = self.verify_share(contract, interval, token, share_wh, meters, now)?;
        self.pay_into(contract, interval, check, pool, now)
    }

    /// Takes back a settlement a verified ledger records (a node rebuilt from its ledger after a restart):
    /// its token and interval count as settled, its discrepancy is recorded. Nothing is verified again —
    /// the ledger's verification checked the meter's token — but an interval or a token seen twice is
    /// refused.
    pub fn restore(&mut self, check: DeliveryCheck, at: Timestamp) -> Result<()> {
        let body = check.token.body();
        let counted = body.export_wh.max(body.import_wh);
        let allocated = self.tokens.get(&body.id).copied().unwrap_or(0);
        if self.tokens.contains_key(&body.id)
            && allocated
                .checked_add(check.delivered_wh)
                .is_none_or(|a| a > counted)
        {
            return Err(Error::Duplicate {
                what: "meter token",
                id: crate::hex(&body.id),
            });
        }
        if self.settled.contains(&(check.contract, check.interval)) {
            return Err(Error::Duplicate {
                what: "settled interval",
                id: format!("{} #{}", check.contract, check.interval),
            });
        }
        self.record(check, at)
    }

    fn verify_new(
        &self,
        contract: &Contract,
        interval: u32,
        token: &Signed<DeliveryToken>,
        meters: &impl MeterBindings,
        now: Timestamp,
    ) -> Result<DeliveryCheck> {
        let id = token.body().id;
        if self.tokens.contains_key(&id) {
            return Err(Error::Duplicate {
                what: "meter token",
                id: crate::hex(&id),
            });
        }
        self.not_settled(contract, interval)?;
        verify_delivery(contract, interval, token, meters, &self.deployment, now)
    }

    fn not_settled(&self, contract: &Contract, interval: u32) -> Result<()> {
        if self.settled.contains(&(contract.id(), interval)) {
            return Err(Error::Duplicate {
                what: "settled interval",
                id: format!("{} #{interval}", contract.id()),
            });
        }
        Ok(())
    }

    /// Verifies a contract's share of a token: the token valid for the contract's delivery point, the share
    /// within what the token counted less what other contracts took of it.
    fn verify_share(
        &self,
        contract: &Contract,
        interval: u32,
        token: &Signed<DeliveryToken>,
        share_wh: i64,
        meters: &impl MeterBindings,
        now: Timestamp,
    ) -> Result<DeliveryCheck> {
        self.not_settled(contract, interval)?;
        let whole = verify_delivery(contract, interval, token, meters, &self.deployment, now)?;
        let allocated = self.tokens.get(&token.body().id).copied().unwrap_or(0);
        let after = allocated
            .checked_add(share_wh)
            .ok_or(Error::Overflow("token allocation"))?;
        if share_wh < 0 || after > whole.delivered_wh {
            return Err(Error::invalid(
                "share",
                format!(
                    "{share_wh} Wh more of a token that counted {} Wh, {allocated} Wh of it already allocated",
                    whole.delivered_wh
                ),
            ));
        }
        assess(contract, interval, token, share_wh)
    }

    fn record(&mut self, check: DeliveryCheck, now: Timestamp) -> Result<()> {
        let allocated = self.tokens.entry(check.token.body().id).or_insert(0);
        *allocated = allocated.saturating_add(check.delivered_wh);
        self.settled.insert((check.contract, check.interval));
        if check.is_discrepancy() {
            let id = discrepancy_id(&check.contract, check.interval);
            self.discrepancies.insert(
                id,
                Discrepancy {
                    id,
                    recorded_at: now,
                    dispute_by: now.checked_add(self.dispute_period)?,
                    dispute: None,
                    check,
                },
            );
        }
        Ok(())
    }

    /// A recorded discrepancy.
    pub fn discrepancy(&self, id: &DebtId) -> Option<&Discrepancy> {
        self.discrepancies.get(id)
    }

    /// Every discrepancy, by id.
    pub fn discrepancies(&self) -> impl Iterator<Item = &Discrepancy> {
        self.discrepancies.values()
    }

    /// Files a party's dispute: signed by the seller or buyer of the contract with a key valid `now`, by the
    /// discrepancy's deadline, once.
    pub fn file_dispute(
        &mut self,
        dispute: Signed<Dispute>,
        contract: &Contract,
        keys: &impl KeyResolver,
        now: Timestamp,
    ) -> Result<()> {
        let d = dispute.body();
        let discrepancy = self.discrepancies.get(&d.discrepancy).ok_or_else(|| {
            Error::invalid("discrepancy", format!("{} is not recorded", d.discrepancy))
        })?;
        if discrepancy.check.contract != contract.id() {
            return Err(Error::invalid(
                "contract",
                "not the contract of the discrepancy",
            ));
        }
        if d.by != contract.seller && d.by != contract.buyer {
            return Err(Error::invalid(
                "by",
                "only a party to the contract disputes it",
            ));
        }
        if now > discrepancy.dispute_by {
            return Err(Error::invalid(
                "filed_at",
                format!("the deadline was {}", discrepancy.dispute_by),
            ));
        }
        if discrepancy.dispute.is_some() {
            return Err(Error::Duplicate {
                what: "dispute",
                id: d.discrepancy.to_string(),
            });
        }
        dispute.verify(keys, &self.deployment, now)?;
        if let Some(entry) = self.discrepancies.get_mut(&d.discrepancy) {
            entry.dispute = Some(DisputeRecord {
                filed: dispute,
                outcome: None,
            });
        }
        Ok(())
    }

    /// Decides a dispute: the delivery found (the meter's figure if the dispute is rejected) is settled
    /// again and the difference moved between the wallets. The record keeps the evidence, the dispute and
    /// the outcome.
    pub fn resolve(
        &mut self,
        id: &DebtId,
        contract: &Contract,
        delivered_wh: i64,
        note: &str,
        wallets: &mut Wallets,
        now: Timestamp,
    ) -> Result<&Resolution> {
        let entry = self
            .discrepancies
            .get(id)
            .ok_or_else(|| Error::invalid("discrepancy", format!("{id} is not recorded")))?;
        let Some(dispute) = &entry.dispute else {
            return Err(Error::invalid("dispute", "none was filed"));
        };
        if dispute.outcome.is_some() {
            return Err(Error::Duplicate {
                what: "resolution",
                id: id.to_string(),
            });
        }
        let corrected = assess(
            contract,
            entry.check.interval,
            &entry.check.token,
            delivered_wh,
        )?;
        let adjustment = corrected.amount.checked_sub(entry.check.amount)?;
        transfer(contract, adjustment, wallets)?;
        let resolution = Resolution {
            at: now,
            delivered_wh,
            corrected,
            adjustment,
            note: note.to_owned(),
        };
        let outcome = self
            .discrepancies
            .get_mut(id)
            .and_then(|e| e.dispute.as_mut())
            .map(|d| &mut d.outcome)
            .ok_or_else(|| Error::invalid("dispute", "none was filed"))?;
        Ok(outcome.insert(resolution))
    }
}

/// TE-04: the energy `counted_wh` a meter counted at one delivery point in one interval, allocated among the
/// contracts delivered there in proportion to what each `contracted` (Wh), rounded to the watt-hour by
/// largest remainder (ties to the earlier contract), so the shares add up to exactly what was counted. With
/// nothing contracted, or a negative figure, the energy is split evenly.
pub fn allocate(counted_wh: i64, contracted: &[i64]) -> Vec<i64> {
    let n = contracted.len();
    if n == 0 {
        return Vec::new();
    }
    let counted = i128::from(counted_wh.max(0));
    let weights: Vec<i128> = if contracted.iter().all(|c| *c > 0) {
        contracted.iter().map(|c| i128::from(*c)).collect()
    } else {
        vec![1; n]
    };
    let total: i128 = weights.iter().sum();
    let mut shares: Vec<(i128, i128, usize)> = weights
        .iter()
        .enumerate()
        .map(|(k, w)| {
            let exact = counted.saturating_mul(*w);
            (
                exact.checked_div(total).unwrap_or(0),
                exact.checked_rem(total).unwrap_or(0),
                k,
            )
        })
        .collect();
    let given: i128 = shares.iter().map(|(q, _, _)| *q).sum();
    let mut left = counted.saturating_sub(given);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| {
        let (ra, rb) = (
            shares.get(*a).map_or(0, |s| s.1),
            shares.get(*b).map_or(0, |s| s.1),
        );
        rb.cmp(&ra).then(a.cmp(b))
    });
    for k in order {
        if left <= 0 {
            break;
        }
        if let Some(s) = shares.get_mut(k) {
            s.0 = s.0.saturating_add(1);
            left = left.saturating_sub(1);
        }
    }
    shares
        .into_iter()
        .map(|(q, _, _)| i64::try_from(q).unwrap_or(i64::MAX))
        .collect()
}

/// The id of what one interval of a contract settles as: the debt in a channel, or the transfer due at
/// clearing.
pub fn settlement_debt_id(contract: &TransactionId, interval: u32) -> DebtId {
    DebtId::derive(&[b"settlement", contract.as_bytes(), &interval.to_be_bytes()])
}

/// The id of the discrepancy of one interval of a contract.
pub fn discrepancy_id(contract: &TransactionId, interval: u32) -> DebtId {
    DebtId::derive(&[b"discrepancy", contract.as_bytes(), &interval.to_be_bytes()])
}

/// What `token` counted in the register the contract's delivery is measured by.
fn delivered_wh(contract: &Contract, token: &DeliveryToken) -> i64 {
    match contract.delivery_point().flow {
        Flow::Export => token.export_wh,
        Flow::Import => token.import_wh,
    }
}

/// Moves `amount` from buyer to seller (or the reverse when negative).
fn transfer(contract: &Contract, amount: Money, wallets: &mut Wallets) -> Result<()> {
    match amount.minor_units {
        0 => Ok(()),
        n if n > 0 => wallets.transfer(contract.buyer, contract.seller, amount),
        _ => wallets.transfer(contract.seller, contract.buyer, amount.checked_neg()?),
    }
}

/// The ledger's check of a settlement record: the chain vouches for the record, and the meter's signature for
/// the token it rests on (verified under the meter's key valid when the record was written).
#[derive(Debug, Clone, Copy, Default)]
pub struct SettlementRecordKind;

impl EntryKind for SettlementRecordKind {
    fn code(&self) -> u16 {
        RecordKind::Settlement.code()
    }
    fn check(
        &self,
        entry: &Entry,
        registry: &mut Registry,
        deployment: &DeploymentId,
    ) -> Result<u64> {
        let check = DeliveryCheck::decode_exact(&entry.body)?;
        check.token.verify(&*registry, deployment, entry.at)?;
        Ok(check.token.signatures().len() as u64)
    }
}
