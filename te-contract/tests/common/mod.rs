//! A deployment with a registrar and a few registered agent avatars, shared by the tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects
)]

use idea_proto::{
    AgentId, CellId, CellRef, Currency, DeliveryWindow, Duration, Energy, EnergyPrice,
    EnergyTransaction, Parties, PowerCellType, PublicKey, ServiceId, SigningKey, Subject, Terms,
    TermsSpec, Timestamp, ToleranceBand, TransactionId, TransactionSpec,
};
use te_contract::channel::{Accepted, Channel, ChannelOpen, ChannelState, MemoryChannelStore};
use te_contract::meter::DeliveryToken;
use te_contract::registry::{AvatarKind, Registration, Registry};
use te_contract::settlement::MeterBindings;
use te_contract::signed::KeyResolver;
use te_contract::{AvatarId, ChannelId, DeploymentId, Signed};

pub struct World {
    pub deployment: DeploymentId,
    pub registry: Registry,
    pub registrar: AvatarId,
    pub registrar_key: SigningKey,
    pub ids: Vec<AvatarId>,
    pub keys: Vec<SigningKey>,
    pub now: Timestamp,
}

/// One meter bound to one cell with its key (version 0), for tests that settle without a registry.
pub struct OneMeter(pub AvatarId, pub CellId, pub PublicKey);

impl MeterBindings for OneMeter {
    fn metered_cell(&self, meter: &AvatarId) -> Option<&CellId> {
        (*meter == self.0).then_some(&self.1)
    }
}

impl KeyResolver for OneMeter {
    fn key(
        &self,
        avatar: &AvatarId,
        version: u32,
        _at: Timestamp,
    ) -> te_contract::Result<PublicKey> {
        if *avatar == self.0 && version == 0 {
            Ok(self.2)
        } else {
            Err(te_contract::Error::UnknownAvatar(*avatar))
        }
    }
}

/// `token` signed by its meter with key version 0 held by `key`.
pub fn signed_token(
    deployment: &DeploymentId,
    token: DeliveryToken,
    key: &SigningKey,
) -> Signed<DeliveryToken> {
    let mut signed = Signed::new(deployment.clone(), token);
    signed.sign(token.meter, 0, key).unwrap();
    signed
}

pub fn eur() -> Currency {
    Currency::new("EUR", 2).unwrap()
}

pub fn t0() -> Timestamp {
    "2026-11-24T10:00:00Z".parse().unwrap()
}

pub fn later(minutes: u64) -> Timestamp {
    t0().checked_add(Duration::from_mins(minutes)).unwrap()
}

pub fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

impl World {
    /// `n` agent avatars with ids `[10 + i; 16]` and keys from seed `10 + i`, in deployment `name`.
    pub fn new(name: &str, n: u8) -> World {
        let deployment = DeploymentId::new(name).unwrap();
        let registrar = AvatarId::from_bytes([1; 16]);
        let registrar_key = key(1);
        let now = t0();
        let registry = Registry::new(
            deployment.clone(),
            registrar,
            PublicKey::from(&registrar_key),
            now,
        );
        let mut world = World {
            deployment,
            registry,
            registrar,
            registrar_key,
            ids: Vec::new(),
            keys: Vec::new(),
            now,
        };
        for i in 0..n {
            let id = AvatarId::from_bytes([10 + i; 16]);
            let k = key(10 + i);
            world.register(id, &k);
            world.ids.push(id);
            world.keys.push(k);
        }
        world
    }

    pub fn register(&mut self, id: AvatarId, k: &SigningKey) {
        let signed = self.registration(id, k);
        self.registry.register(&signed).unwrap();
    }

    pub fn registration(&self, id: AvatarId, k: &SigningKey) -> Signed<Registration> {
        let agent = AvatarKind::Agent(AgentId::new(format!("agent-{}", id.0[0])).unwrap());
        self.registration_as(id, agent, k)
    }

    /// Registers `id` as a meter at `cell`.
    pub fn register_meter(&mut self, id: AvatarId, cell: &str, k: &SigningKey) {
        let kind = AvatarKind::Meter {
            meter: idea_proto::MeterId::new(format!("meter-{}", id.0[0])).unwrap(),
            cell: CellId::new(cell).unwrap(),
        };
        let signed = self.registration_as(id, kind, k);
        self.registry.register(&signed).unwrap();
    }

    pub fn registration_as(
        &self,
        id: AvatarId,
        kind: AvatarKind,
        k: &SigningKey,
    ) -> Signed<Registration> {
        let mut r = Signed::new(
            self.deployment.clone(),
            Registration {
                registrar: self.registrar,
                avatar: id,
                kind,
                key: PublicKey::from(k),
                at: self.now,
            },
        );
        r.sign(self.registrar, 0, &self.registrar_key).unwrap();
        r.sign(id, 0, k).unwrap();
        r
    }

    /// A channel between avatars `i` and `j` (A = i), both sides' views.
    pub fn channel(
        &self,
        n: u8,
        i: usize,
        j: usize,
        limit: i64,
    ) -> (Signed<ChannelOpen>, Channel, Channel) {
        let mut open = Signed::new(
            self.deployment.clone(),
            ChannelOpen {
                channel: ChannelId::from_bytes([n; 16]),
                a: self.ids[i],
                b: self.ids[j],
                currency: eur(),
                credit_limit: limit,
                challenge_period: Duration::from_mins(60),
                opened_at: self.now,
            },
        );
        open.sign(self.ids[i], 0, &self.keys[i]).unwrap();
        open.sign(self.ids[j], 0, &self.keys[j]).unwrap();
        let a = Channel::new(
            self.deployment.clone(),
            open.clone(),
            self.ids[i],
            &self.registry,
            self.now,
        )
        .unwrap();
        let b = Channel::new(
            self.deployment.clone(),
            open.clone(),
            self.ids[j],
            &self.registry,
            self.now,
        )
        .unwrap();
        (open, a, b)
    }
}

/// A P2P energy transaction of four quarter hours (500 Wh each at 0.12 EUR/kWh, 5 % tolerance).
pub fn transaction(n: u8) -> EnergyTransaction {
    let terms = Terms::new(TermsSpec {
        window: DeliveryWindow::new(t0(), 900, 4).unwrap(),
        profile: idea_proto::Profile::Energy(vec![Energy::from_wh(500); 4]),
        price: EnergyPrice::new(12, eur()),
        tolerance: ToleranceBand {
            relative_bp: 500,
            absolute: Energy::from_wh(10),
        },
        penalty: EnergyPrice::new(30, eur()),
    })
    .unwrap();
    EnergyTransaction::new(TransactionSpec {
        id: TransactionId::from_bytes([n; 16]),
        service: ServiceId::new("p2p-market").unwrap(),
        subject: Subject::Energy,
        parties: Parties::PeerToPeer {
            seller: CellRef::new(
                CellId::new("pv-farm").unwrap(),
                PowerCellType::StochasticGenerator,
            ),
            buyer: CellRef::new(
                CellId::new("house-7").unwrap(),
                PowerCellType::PassiveConsumer,
            ),
        },
        terms,
    })
    .unwrap()
}

/// `channel` countersigns `proposal` with avatar `key`'s key 0, saving to a throwaway store.
pub fn accept(
    w: &World,
    channel: &mut Channel,
    proposal: Signed<ChannelState>,
    key: usize,
) -> te_contract::Result<Accepted> {
    channel.accept(
        proposal,
        &w.registry,
        &mut MemoryChannelStore::default(),
        &w.keys[key],
        0,
        w.now,
    )
}

/// `channel` takes back its proposal countersigned, saving to a throwaway store.
pub fn confirm(
    w: &World,
    channel: &mut Channel,
    countersigned: Signed<ChannelState>,
) -> te_contract::Result<()> {
    channel.confirm(
        countersigned,
        &w.registry,
        &mut MemoryChannelStore::default(),
        w.now,
    )
}
