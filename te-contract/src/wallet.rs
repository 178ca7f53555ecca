//! Wallets: integer balances in minor units, one per avatar and currency (TE-02).

use crate::codec::{Codec, Put, Reader};
use crate::error::{Error, Result};
use crate::id::{AvatarId, DeploymentId};
use crate::ledger::{Entry, EntryKind, RecordKind};
use crate::registry::Registry;
use idea_proto::{Currency, Money, Timestamp};
use std::collections::BTreeMap;

/// Money paid into a wallet from outside (a bank transfer), as the ledger records it (TE-02): the `sequence`th
/// deposit of the platform, so each is recorded once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deposit {
    /// Whose wallet.
    pub avatar: AvatarId,
    /// How much (> 0).
    pub amount: Money,
    /// The platform's count of deposits, from 1.
    pub sequence: u64,
}

/// Layout: the avatar (16 bytes), the amount (money), the sequence (u64).
impl Codec for Deposit {
    fn encode(&self, out: &mut Vec<u8>) {
        self.avatar.encode(out);
        out.put_money(self.amount);
        out.put_u64(self.sequence);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let avatar = AvatarId::read(r)?;
        let amount = r.money("amount")?;
        if amount.minor_units <= 0 {
            return Err(r.error("amount", "a deposit is positive"));
        }
        let sequence = r.u64("sequence")?;
        Ok(Deposit {
            avatar,
            amount,
            sequence,
        })
    }
}

impl Deposit {
    /// The ledger entry recording it, keyed by the avatar and the sequence.
    pub fn ledger_entry(&self, at: Timestamp) -> Entry {
        Entry::record(
            RecordKind::Deposit,
            self.avatar.0,
            self.sequence,
            at,
            self.to_bytes(),
        )
    }
}

/// The ledger's check of a deposit record: it decodes canonically, is positive and is keyed by its avatar
/// and sequence. The chain, and the operator's checkpoints over it, vouch that the money came in.
#[derive(Debug, Clone, Copy, Default)]
pub struct DepositRecordKind;

impl EntryKind for DepositRecordKind {
    fn code(&self) -> u16 {
        RecordKind::Deposit.code()
    }
    fn check(&self, entry: &Entry, _: &mut Registry, _: &DeploymentId) -> Result<u64> {
        let deposit = Deposit::decode_exact(&entry.body)?;
        if deposit.ledger_entry(entry.at).key != entry.key {
            return Err(Error::Ledger {
                seq: 0,
                fault: crate::LedgerFault::WrongKey,
            });
        }
        Ok(0)
    }
}

/// The balances of every avatar. Balances never go below zero and never overflow; a transfer either
/// happens whole or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wallets {
    balances: BTreeMap<(AvatarId, Currency), i64>,
}

impl Wallets {
    /// No balances.
    pub fn new() -> Wallets {
        Wallets::default()
    }

    /// What `avatar` holds in `currency`.
    pub fn balance(&self, avatar: &AvatarId, currency: Currency) -> Money {
        Money::new(
            self.balances
                .get(&(*avatar, currency))
                .copied()
                .unwrap_or(0),
            currency,
        )
    }

    /// Pays money in from outside (a bank transfer): `amount` must not be negative.
    pub fn deposit(&mut self, avatar: AvatarId, amount: Money) -> Result<()> {
        if amount.minor_units < 0 {
            return Err(Error::invalid("amount", "a deposit cannot be negative"));
        }
        let balance = self.balances.entry((avatar, amount.currency)).or_insert(0);
        *balance = balance
            .checked_add(amount.minor_units)
            .ok_or(Error::Overflow("wallet deposit"))?;
        Ok(())
    }

    /// Pays money out (a withdrawal); refused beyond the balance.
    pub fn withdraw(&mut self, avatar: AvatarId, amount: Money) -> Result<()> {
        self.transfer_out(avatar, amount)
    }

    /// Moves `amount` from one wallet to another; refused if the payer holds less.
    pub fn transfer(&mut self, from: AvatarId, to: AvatarId, amount: Money) -> Result<()> {
        if from == to {
            return Err(Error::invalid("to", "a transfer needs two wallets"));
        }
        let received = self
            .balance(&to, amount.currency)
            .minor_units
            .checked_add(amount.minor_units)
            .ok_or(Error::Overflow("wallet transfer"))?;
        self.transfer_out(from, amount)?;
        self.balances.insert((to, amount.currency), received);
        Ok(())
    }

    fn transfer_out(&mut self, from: AvatarId, amount: Money) -> Result<()> {
        if amount.minor_units < 0 {
            return Err(Error::invalid("amount", "an amount cannot be negative"));
        }
        let balance = self.balance(&from, amount.currency);
        let left = balance
            .minor_units
            .checked_sub(amount.minor_units)
            .filter(|left| *left >= 0)
            .ok_or(Error::InsufficientFunds {
                avatar: from,
                balance,
                needed: amount,
            })?;
        self.balances.insert((from, amount.currency), left);
        Ok(())
    }

    /// The sum of all balances in `currency` (money is only moved, so this changes only by deposits and
    /// withdrawals).
    pub fn total(&self, currency: Currency) -> Result<Money> {
        self.balances
            .iter()
            .filter(|((_, c), _)| *c == currency)
            .try_fold(0i64, |sum, (_, v)| sum.checked_add(*v))
            .map(|m| Money::new(m, currency))
            .ok_or(Error::Overflow("wallet total"))
    }

    /// Every balance, in avatar then currency order.
    pub fn iter(&self) -> impl Iterator<Item = (AvatarId, Money)> + '_ {
        self.balances
            .iter()
            .map(|((a, c), v)| (*a, Money::new(*v, *c)))
    }
}
