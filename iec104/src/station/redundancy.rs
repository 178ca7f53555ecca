//! Redundancy groups of a controlled station (IEC 60870-5-104 edition 2, redundant connections): the connections of the
//! controlling stations of one group share one stream of reports; only one connection of a group is started
//! (in data transfer) at a time, and reports made while none is started wait in the group's backlog until one
//! starts.
//!
//! A STARTDT on a second connection of a group makes that connection the active one; the previous one gets no
//! more reports (the controlling side is expected to have stopped it, the standard's switchover). The
//! bookkeeping here is sans-IO: a transport says which connection joined, started, stopped or closed, and asks
//! whether a connection may send reports.

use crate::asdu::Asdu;
use std::collections::VecDeque;
use std::net::IpAddr;

/// One redundancy group: the controlling stations, by address, whose connections share one report stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedundancyGroup {
    /// A name for logs and status.
    pub name: String,
    /// Addresses of the controlling stations of this group; empty means every address that no other group
    /// names.
    pub clients: Vec<IpAddr>,
    /// Most report ASDUs kept while no connection of the group is started; the oldest go first.
    pub backlog_limit: usize,
}

impl RedundancyGroup {
    /// A group of the given clients with a backlog of 10,000 ASDUs.
    pub fn new(name: impl Into<String>, clients: Vec<IpAddr>) -> RedundancyGroup {
        RedundancyGroup {
            name: name.into(),
            clients,
            backlog_limit: 10_000,
        }
    }
}

/// The state of one group.
#[derive(Debug)]
struct GroupState {
    config: RedundancyGroup,
    active: Option<u64>,
    backlog: VecDeque<Asdu>,
    dropped: u64,
}

/// How one group stands, for a status display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStatus {
    /// The group's name.
    pub name: String,
    /// The started connection, if any.
    pub active: Option<u64>,
    /// Report ASDUs waiting for a started connection.
    pub backlog: usize,
    /// Report ASDUs dropped because the backlog was full.
    pub dropped: u64,
}

/// The redundancy groups of one controlled station.
#[derive(Debug)]
pub struct RedundancyGroups {
    groups: Vec<GroupState>,
}

impl RedundancyGroups {
    /// Whether group `group` names `address` explicitly (not as a catch-all).
    pub fn names(&self, group: usize, address: IpAddr) -> bool {
        self.groups
            .get(group)
            .is_some_and(|g| g.config.clients.contains(&address))
    }

    /// The groups, in the order a client address is matched against them.
    pub fn new(groups: Vec<RedundancyGroup>) -> RedundancyGroups {
        RedundancyGroups {
            groups: groups
                .into_iter()
                .map(|config| GroupState {
                    config,
                    active: None,
                    backlog: VecDeque::new(),
                    dropped: 0,
                })
                .collect(),
        }
    }

    /// The group a client at `address` belongs to: the first that names it, else the first catch-all group;
    /// `None` when the client is not admitted.
    pub fn group_of(&self, address: IpAddr) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.config.clients.contains(&address))
            .or_else(|| self.groups.iter().position(|g| g.config.clients.is_empty()))
    }

    /// Connection `connection` of `group` started data transfer: it becomes the group's active connection.
    /// Returns the backlog, oldest first, to send on it.
    pub fn started(&mut self, group: usize, connection: u64) -> Vec<Asdu> {
        match self.groups.get_mut(group) {
            Some(g) => {
                g.active = Some(connection);
                g.backlog.drain(..).collect()
            }
            None => Vec::new(),
        }
    }

    /// Connection `connection` of `group` stopped data transfer or closed.
    pub fn stopped(&mut self, group: usize, connection: u64) {
        if let Some(g) = self.groups.get_mut(group)
            && g.active == Some(connection)
        {
            g.active = None;
        }
    }

    /// Whether `connection` is the active connection of `group`, the one that sends its reports.
    pub fn is_active(&self, group: usize, connection: u64) -> bool {
        self.groups
            .get(group)
            .is_some_and(|g| g.active == Some(connection))
    }

    /// Reports made by the station: kept for every group with no started connection (the started ones send
    /// them as they are made).
    pub fn report(&mut self, asdus: &[Asdu]) {
        for g in self.groups.iter_mut().filter(|g| g.active.is_none()) {
            for a in asdus {
                if g.config.backlog_limit == 0 {
                    g.dropped = g.dropped.saturating_add(1);
                    continue;
                }
                if g.backlog.len() >= g.config.backlog_limit {
                    g.backlog.pop_front();
                    g.dropped = g.dropped.saturating_add(1);
                }
                g.backlog.push_back(a.clone());
            }
        }
    }

    /// How each group stands.
    pub fn status(&self) -> Vec<GroupStatus> {
        self.groups
            .iter()
            .map(|g| GroupStatus {
                name: g.config.name.clone(),
                active: g.active,
                backlog: g.backlog.len(),
                dropped: g.dropped,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asdu::{Cot, InformationObject, Objects};
    use crate::element::Element;

    fn report(ioa: u32) -> Asdu {
        Asdu {
            type_id: 1,
            sq: false,
            count: 1,
            cot: Cot::new(3),
            common_address: 1,
            objects: Objects::Known(vec![InformationObject {
                ioa,
                elements: vec![Element::Siq(1)],
            }]),
        }
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn clients_join_their_group_or_the_catch_all() {
        let groups = RedundancyGroups::new(vec![
            RedundancyGroup::new("scada-a", vec![ip(1), ip(2)]),
            RedundancyGroup::new("others", vec![]),
        ]);
        assert_eq!(groups.group_of(ip(2)), Some(0));
        assert_eq!(groups.group_of(ip(9)), Some(1));
        let closed = RedundancyGroups::new(vec![RedundancyGroup::new("only", vec![ip(1)])]);
        assert_eq!(closed.group_of(ip(9)), None);
    }

    #[test]
    fn one_active_connection_and_a_backlog_while_none_is_started() {
        let mut groups = RedundancyGroups::new(vec![
            RedundancyGroup::new("a", vec![ip(1)]),
            RedundancyGroup::new("b", vec![ip(2)]),
        ]);
        assert!(groups.started(0, 7).is_empty());
        groups.report(&[report(1)]);
        // Group a sends through connection 7; group b, with nobody started, keeps the report.
        assert!(groups.is_active(0, 7));
        assert_eq!(groups.status()[1].backlog, 1);
        // A second connection of group a starts: it takes over.
        assert!(groups.started(0, 8).is_empty());
        assert!(!groups.is_active(0, 7) && groups.is_active(0, 8));
        // The old one closing does not unseat the new one.
        groups.stopped(0, 7);
        assert!(groups.is_active(0, 8));
        groups.stopped(0, 8);
        groups.report(&[report(2), report(3)]);
        let delivered = groups.started(0, 9);
        assert_eq!(delivered, vec![report(2), report(3)]);
        assert_eq!(groups.started(1, 10), vec![report(1), report(2), report(3)]);
    }

    #[test]
    fn a_full_backlog_drops_the_oldest_and_counts() {
        let mut group = RedundancyGroup::new("a", vec![]);
        group.backlog_limit = 2;
        let mut groups = RedundancyGroups::new(vec![group]);
        groups.report(&[report(1), report(2), report(3)]);
        assert_eq!(groups.status()[0].dropped, 1);
        assert_eq!(groups.started(0, 1), vec![report(2), report(3)]);
    }
}
