//! The server's URL space and what each method does there.
//!
//! ```text
//! /dcap                         DeviceCapability
//! /tm                           Time
//! /edev                         EndDeviceList (the client's own EndDevice; all for the operator); POST registers
//! /edev/{i}                     EndDevice            /edev/{i}/rg   Registration
//! /edev/{i}/fsa                 FunctionSetAssignmentsList
//! /edev/{i}/sub[/{s}]           SubscriptionList, POST subscribes; Subscription, DELETE unsubscribes
//! /edev/{i}/der[/0[/…]]         DERList, DER and what the device PUTs of it (see `der`)
//! /edev/{i}/cp                  csipaus:ConnectionPoint (the NMI), PUT by the device or set by the operator
//! /fsa/{j}                      FunctionSetAssignments   /fsa/{j}/derp  DERProgramList
//! /derp/{k}                     DERProgram
//! /derp/{k}/derc[/{n}]          DERControlList; DERControl
//! /derp/{k}/actderc             the active DERControlList
//! /derp/{k}/dderc               DefaultDERControl
//! /rsps, /rsps/0, /rsps/0/rsp   ResponseSetList, ResponseSet, ResponseList (POST a DERControlResponse)
//! /mup[/{m}]                    MirrorUsagePointList, POST creates; MirrorUsagePoint, POST a MirrorMeterReading
//! ```

use super::exchange::{Method, Paging, Reply, Request};
use super::store::{Acting, Device, FsaId, Polled, ProgramIndex, RegistrationPolicy, Server};
use crate::identity::sfdi;
use crate::primitives::HexBinary160;
use crate::resources::{
    AnyResource, DERControlList, DERControlResponse, DERProgramList, DeviceCapability, EndDevice,
    EndDeviceList, FunctionSetAssignments, FunctionSetAssignmentsList, Link, ListLink,
    MirrorMeterReading, MirrorUsagePoint, MirrorUsagePointList, Registration, Response,
    ResponseList, ResponseSet, ResponseSetList, Subscription, SubscriptionList, Time,
};
use crate::scheduler::ResponseStatus;

/// A resource written as the reply body.
macro_rules! reply {
    ($value:expr) => {{
        let mut body = Vec::new();
        $value.encode(&mut body);
        Reply::ok(body)
    }};
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn list_link(href: String, all: usize) -> Option<ListLink> {
    Some(ListLink {
        href,
        all: Some(count(all)),
        ..Default::default()
    })
}

fn link(href: String) -> Option<Link> {
    Some(Link {
        href,
        ..Default::default()
    })
}

impl Server {
    /// Answers one request at server time `now`.
    pub fn handle(&mut self, request: &Request, now: i64) -> Reply {
        self.refresh(now);
        self.route(request, now)
    }

    /// Answers one request, event status already brought up to `now`.
    pub(crate) fn route(&mut self, request: &Request, now: i64) -> Reply {
        let Some(paging) = Paging::parse(&request.query) else {
            return Reply::bad_request();
        };
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        let index = |s: &str| s.parse::<usize>().ok();
        let acting = self.acting(request.client);
        use Method::{Delete, Get, Post};
        match (request.method, segments.as_slice()) {
            (Get, ["dcap"]) => reply!(self.device_capability(&acting)),
            (Get, ["tm"]) => reply!(Time {
                href: Some("/tm".into()),
                poll_rate: Some(self.poll_rate_of(Polled::Time)),
                current_time: now,
                quality: 7,
                ..Default::default()
            }),
            (Get, ["edev"]) => reply!(self.end_device_list(&acting, paging)),
            (Post, ["edev"]) => self.register(request, now),
            (method, ["edev", i, rest @ ..]) => {
                match index(i).filter(|i| self.may_access(&acting, *i)) {
                    Some(i) => self.device_resource(method, i, rest, request, paging),
                    None if index(i)
                        .and_then(|i| self.devices.get(i))
                        .is_some_and(|d| !d.removed) =>
                    {
                        Reply::status(403)
                    }
                    None => Reply::status(404),
                }
            }
            (Get, ["fsa", j, rest @ ..]) => {
                match index(j).filter(|j| *j < self.fsas.len()).map(FsaId) {
                    Some(j) if !self.may_see_fsa(&acting, j) => Reply::status(403),
                    Some(j) => match (rest, self.fsa(j), self.program_list(j, paging)) {
                        ([], Some(fsa), _) => reply!(fsa),
                        (["derp"], _, Some(list)) => reply!(list),
                        _ => Reply::status(404),
                    },
                    None => Reply::status(404),
                }
            }
            (Get, ["derp", k, rest @ ..]) => {
                match index(k)
                    .filter(|k| *k < self.programs.len())
                    .map(ProgramIndex)
                {
                    Some(k) if !self.may_see_program(&acting, k) => Reply::status(403),
                    Some(k) => self.program_resource(k, rest, paging, now),
                    None => Reply::status(404),
                }
            }
            (Get, ["rsps"]) => reply!(ResponseSetList {
                href: Some("/rsps".into()),
                all: 1,
                results: 1,
                response_set: paging.page(&[self.response_set(&acting)]).to_vec(),
                ..Default::default()
            }),
            (Get, ["rsps", "0"]) => reply!(self.response_set(&acting)),
            (Get, ["rsps", "0", "rsp"]) => {
                // Each device reads its own responses (an aggregator its devices'); the operator all.
                let visible: Vec<&DERControlResponse> = self
                    .responses
                    .iter()
                    .filter(|r| acting.covers(&r.end_device_lfdi))
                    .collect();
                let page: Vec<Response> = paging
                    .page(&visible)
                    .iter()
                    .map(|r| Response {
                        created_date_time: r.created_date_time,
                        end_device_lfdi: r.end_device_lfdi,
                        status: r.status,
                        subject: r.subject,
                        ..Default::default()
                    })
                    .collect();
                reply!(ResponseList {
                    href: Some("/rsps/0/rsp".into()),
                    all: count(visible.len()),
                    results: count(page.len()),
                    response: page,
                    ..Default::default()
                })
            }
            (Post, ["rsps", "0", "rsp"]) => self.post_response(request, &acting),
            (Get, ["mup"]) => {
                let visible: Vec<MirrorUsagePoint> = self
                    .mirrors
                    .iter()
                    .filter(|m| acting.covers(&m.device_lfdi))
                    .map(|m| self.served_mirror(m))
                    .collect();
                let page = paging.page(&visible).to_vec();
                reply!(MirrorUsagePointList {
                    href: Some("/mup".into()),
                    all: count(visible.len()),
                    results: count(page.len()),
                    poll_rate: Some(self.poll_rate_of(Polled::MirrorUsagePointList)),
                    mirror_usage_point: page,
                    ..Default::default()
                })
            }
            (Post, ["mup"]) => self.post_mirror_usage_point(request, &acting),
            (method, ["mup", m]) => match (
                method,
                self.mirror_at(m)
                    .and_then(|m| self.mirrors.get(m).map(|u| (m, u))),
            ) {
                (_, Some((_, mup))) if !acting.covers(&mup.device_lfdi) => Reply::status(403),
                (Get, Some((_, mup))) => reply!(self.served_mirror(mup)),
                (Post, Some((m, _))) => self.post_mirror_meter_reading(m, request, &acting),
                (_, None) => Reply::status(404),
                _ => Reply::status(405),
            },
            (Delete | Method::Put, _) | (Post, _) => Reply::status(405),
            (Get, _) => Reply::status(404),
        }
    }

    /// Whom `client` acts for: everyone for the operator (`None`); else its own LFDI and, for an
    /// aggregator, the LFDIs of the EndDevices it manages.
    pub(crate) fn acting(&self, client: Option<HexBinary160>) -> Acting {
        match client {
            None => Acting::Operator,
            Some(c) if self.revoked.contains(&c) => Acting::For(Vec::new()),
            Some(c) => Acting::For(
                std::iter::once(c)
                    .chain(
                        self.devices
                            .iter()
                            .filter(|d| {
                                !d.removed
                                    && d.aggregator == Some(c)
                                    && !self.revoked.contains(&d.lfdi)
                            })
                            .map(|d| d.lfdi),
                    )
                    .collect(),
            ),
        }
    }

    /// Whether the client may see EndDevice `i`: one it acts for (a removed one, nobody).
    fn may_access(&self, acting: &Acting, i: usize) -> bool {
        self.devices
            .get(i)
            .is_some_and(|d| !d.removed && acting.covers(&d.lfdi))
    }

    /// Whether the client may see FunctionSetAssignments `j`: one assigned to an EndDevice it acts for. A
    /// client with no EndDevice here sees none.
    pub(crate) fn may_see_fsa(&self, acting: &Acting, j: FsaId) -> bool {
        match acting {
            Acting::Operator => true,
            Acting::For(_) => self
                .devices
                .iter()
                .any(|d| !d.removed && acting.covers(&d.lfdi) && d.fsas.contains(&j)),
        }
    }

    /// Whether the client may see DER program `k`: one of a FunctionSetAssignments it may see.
    pub(crate) fn may_see_program(&self, acting: &Acting, k: ProgramIndex) -> bool {
        match acting {
            Acting::Operator => true,
            Acting::For(_) => {
                // The FSAs that carry the program, then a device the client acts for assigned one of them.
                let holding: Vec<FsaId> = (0..self.fsas.len())
                    .map(FsaId)
                    .filter(|j| self.fsas.get(j.0).is_some_and(|f| f.programs.contains(&k)))
                    .collect();
                !holding.is_empty()
                    && self.devices.iter().any(|d| {
                        !d.removed
                            && d.fsas.iter().any(|j| holding.contains(j))
                            && acting.covers(&d.lfdi)
                    })
            }
        }
    }

    fn device_capability(&self, acting: &Acting) -> DeviceCapability {
        let visible = self
            .devices
            .iter()
            .filter(|d| !d.removed && acting.covers(&d.lfdi))
            .count();
        DeviceCapability {
            href: Some("/dcap".into()),
            poll_rate: Some(self.poll_rate_of(Polled::DeviceCapability)),
            response_set_list_link: list_link("/rsps".into(), 1),
            time_link: link("/tm".into()),
            end_device_list_link: list_link("/edev".into(), visible),
            mirror_usage_point_list_link: list_link(
                "/mup".into(),
                self.mirrors
                    .iter()
                    .filter(|m| acting.covers(&m.device_lfdi))
                    .count(),
            ),
            ..Default::default()
        }
    }

    fn end_device(&self, i: usize) -> Option<EndDevice> {
        let d = self.devices.get(i)?;
        Some(EndDevice {
            href: Some(format!("/edev/{i}")),
            subscribable: Some(0),
            lfdi: Some(d.lfdi),
            sfdi: self.sfdi_of(i),
            changed_time: d.changed,
            enabled: Some(true),
            function_set_assignments_list_link: list_link(format!("/edev/{i}/fsa"), d.fsas.len()),
            registration_link: d.pin.and_then(|_| link(format!("/edev/{i}/rg"))),
            der_list_link: Server::der_list_link(i),
            connection_point_link: link(format!("/edev/{i}/cp")),
            subscription_list_link: list_link(
                format!("/edev/{i}/sub"),
                d.subscriptions.iter().flatten().count(),
            ),
            ..Default::default()
        })
    }

    fn end_device_list(&self, acting: &Acting, paging: Paging) -> EndDeviceList {
        let visible: Vec<EndDevice> = (0..self.devices.len())
            .filter(|i| self.may_access(acting, *i))
            .filter_map(|i| self.end_device(i))
            .collect();
        let page = paging.page(&visible).to_vec();
        EndDeviceList {
            href: Some("/edev".into()),
            subscribable: Some(1),
            all: count(visible.len()),
            results: count(page.len()),
            poll_rate: Some(self.poll_rate_of(Polled::EndDeviceList)),
            end_device: page,
            ..Default::default()
        }
    }

    /// `POST /edev`: a client registers itself (CSIP-AUS in-band registration). Its EndDevice must carry the
    /// LFDI of its certificate (and the matching SFDI). A device already registered is refused with 409;
    /// an unknown one is refused with 403 under pre-enrolment and registered under the in-band policy.
    fn register(&mut self, request: &Request, now: i64) -> Reply {
        let Ok((posted, _)) = EndDevice::decode(&request.body) else {
            return Reply::bad_request();
        };
        if request.client.is_some_and(|c| self.revoked.contains(&c)) {
            return Reply::status(403);
        }
        // A device registers itself; an aggregator (CSIP-AUS) registers the EndDevices it manages.
        let aggregator = request.client.filter(|c| self.aggregators.contains(c));
        let lfdi = match (posted.lfdi, request.client) {
            (Some(l), Some(c)) if l != c && aggregator.is_none() => return Reply::status(403),
            (Some(l), _) => l,
            (None, Some(c)) => c,
            (None, None) => return Reply::bad_request(),
        };
        if posted.sfdi != sfdi(&lfdi) {
            return Reply::bad_request();
        }
        if self.device_of(&lfdi).is_some() {
            return Reply::status(409);
        }
        let RegistrationPolicy::InBand { fsas } = &self.registration else {
            return Reply::status(403);
        };
        let in_band = self
            .devices
            .iter()
            .filter(|d| d.in_band && !d.removed)
            .count();
        if in_band >= self.quotas.in_band_devices {
            return Reply::over_quota();
        }
        let fsas = fsas.clone();
        self.devices.push(Device {
            lfdi,
            removed: false,
            aggregator: aggregator.filter(|a| *a != lfdi),
            pin: None,
            in_band: true,
            registered: now,
            changed: now,
            fsas,
            subscriptions: Vec::new(),
            der: Default::default(),
        });
        self.changed("/edev");
        Reply::created(format!("/edev/{}", self.devices.len().saturating_sub(1)))
    }

    fn device_resource(
        &mut self,
        method: Method,
        i: usize,
        rest: &[&str],
        request: &Request,
        paging: Paging,
    ) -> Reply {
        match rest {
            ["der", der @ ..] => return self.der_resource(method, i, der, request),
            ["cp"] => return self.connection_point_resource(method, i, request),
            _ => {}
        }
        let Some(device) = self.devices.get(i) else {
            return Reply::status(404);
        };
        match (method, rest) {
            (Method::Get, []) => match self.end_device(i) {
                Some(d) => reply!(d),
                None => Reply::status(404),
            },
            (Method::Get, ["rg"]) => match device.pin {
                Some(pin) => reply!(Registration {
                    href: Some(format!("/edev/{i}/rg")),
                    poll_rate: Some(self.poll_rate_of(Polled::Registration)),
                    date_time_registered: device.registered,
                    pin,
                    ..Default::default()
                }),
                // Registered in band, not yet confirmed by the operator.
                None => Reply::status(404),
            },
            (Method::Get, ["fsa"]) => {
                let all: Vec<FunctionSetAssignments> =
                    device.fsas.iter().filter_map(|f| self.fsa(*f)).collect();
                let page = paging.page(&all).to_vec();
                reply!(FunctionSetAssignmentsList {
                    href: Some(format!("/edev/{i}/fsa")),
                    subscribable: Some(1),
                    all: count(all.len()),
                    results: count(page.len()),
                    poll_rate: Some(self.poll_rate_of(Polled::FunctionSetAssignmentsList)),
                    function_set_assignments: page,
                    ..Default::default()
                })
            }
            (Method::Get, ["sub"]) => {
                let all: Vec<Subscription> = device
                    .subscriptions
                    .iter()
                    .enumerate()
                    .filter_map(|(s, held)| {
                        held.as_ref().map(|held| {
                            let mut sub = held.subscription.clone();
                            sub.href = Some(format!("/edev/{i}/sub/{s}"));
                            sub
                        })
                    })
                    .collect();
                let page = paging.page(&all).to_vec();
                reply!(SubscriptionList {
                    href: Some(format!("/edev/{i}/sub")),
                    all: count(all.len()),
                    results: count(page.len()),
                    subscription: page,
                    ..Default::default()
                })
            }
            (Method::Post, ["sub"]) => {
                let Ok((subscription, _)) = Subscription::decode(&request.body) else {
                    return Reply::bad_request();
                };
                let Some(own) = self.devices.get(i).map(|d| d.lfdi) else {
                    return Reply::status(404);
                };
                let subscriber = request.client.unwrap_or(own);
                if !self.may_subscribe(&subscription.subscribed_resource, subscriber) {
                    return Reply::bad_request();
                }
                let subscription = super::notify::Held {
                    subscription,
                    subscriber,
                };
                let quota = self.quotas.subscriptions;
                let Some(device) = self.devices.get_mut(i) else {
                    return Reply::status(404);
                };
                if device.subscriptions.iter().flatten().count() >= quota {
                    return Reply::over_quota();
                }
                // A deleted subscription's slot is reused, so posting and deleting cannot grow the list.
                let s = match device.subscriptions.iter().position(Option::is_none) {
                    Some(free) => {
                        if let Some(slot) = device.subscriptions.get_mut(free) {
                            *slot = Some(subscription);
                        }
                        free
                    }
                    None => {
                        device.subscriptions.push(Some(subscription));
                        device.subscriptions.len().saturating_sub(1)
                    }
                };
                Reply::created(format!("/edev/{i}/sub/{s}"))
            }
            (method, ["sub", s]) => {
                let slot = s
                    .parse::<usize>()
                    .ok()
                    .and_then(|s| self.devices.get_mut(i)?.subscriptions.get_mut(s));
                match (method, slot) {
                    (Method::Get, Some(Some(held))) => {
                        let mut sub = held.subscription.clone();
                        sub.href = Some(format!("/edev/{i}/sub/{s}"));
                        reply!(sub)
                    }
                    (Method::Delete, Some(slot @ Some(_))) => {
                        *slot = None;
                        Reply::no_content()
                    }
                    (Method::Get | Method::Delete, _) => Reply::status(404),
                    _ => Reply::status(405),
                }
            }
            (Method::Get, _) => Reply::status(404),
            _ => Reply::status(405),
        }
    }

    fn fsa(&self, id: FsaId) -> Option<FunctionSetAssignments> {
        let f = self.fsas.get(id.0)?;
        Some(FunctionSetAssignments {
            href: Some(format!("/fsa/{}", id.0)),
            subscribable: Some(0),
            der_program_list_link: list_link(format!("/fsa/{}/derp", id.0), f.programs.len()),
            time_link: link("/tm".into()),
            mrid: f.mrid,
            description: Some(f.description.clone()),
            ..Default::default()
        })
    }

    /// The programs of a FunctionSetAssignments, by primacy then mRID descending (clause 10.10).
    fn program_list(&self, id: FsaId, paging: Paging) -> Option<DERProgramList> {
        let f = self.fsas.get(id.0)?;
        let mut programs: Vec<_> = f
            .programs
            .iter()
            .filter_map(|k| Some((k, self.programs.get(k.0)?)))
            .collect();
        programs.sort_by(|(_, a), (_, b)| {
            a.program
                .primacy
                .cmp(&b.program.primacy)
                .then(b.program.mrid.cmp(&a.program.mrid))
        });
        let all: Vec<_> = programs
            .into_iter()
            .map(|(k, p)| self.program(*k, p))
            .collect();
        let page = paging.page(&all).to_vec();
        Some(DERProgramList {
            href: Some(format!("/fsa/{}/derp", id.0)),
            subscribable: Some(1),
            all: count(all.len()),
            results: count(page.len()),
            poll_rate: Some(self.poll_rate_of(Polled::DERProgramList)),
            der_program: page,
            ..Default::default()
        })
    }

    fn program(&self, k: ProgramIndex, p: &super::store::Program) -> crate::resources::DERProgram {
        let mut program = p.program.clone();
        let base = format!("/derp/{}", k.0);
        program.href = Some(base.clone());
        program.der_control_list_link = list_link(
            format!("{base}/derc"),
            p.controls.iter().filter(|c| self.listed(c)).count(),
        );
        program.active_der_control_list_link = list_link(
            format!("{base}/actderc"),
            p.controls
                .iter()
                .filter(|c| c.event_status.current_status == 1 && self.listed(c))
                .count(),
        );
        program.default_der_control_link = p
            .default
            .as_ref()
            .and_then(|_| link(format!("{base}/dderc")));
        program
    }

    fn program_resource(&self, k: ProgramIndex, rest: &[&str], paging: Paging, now: i64) -> Reply {
        let Some(p) = self.programs.get(k.0) else {
            return Reply::status(404);
        };
        match rest {
            [] => reply!(self.program(k, p)),
            ["derc"] => match self.control_list(k, paging.start, paging.limit) {
                Some(list) => reply!(list),
                None => Reply::status(404),
            },
            ["derc", n] => match n.parse::<usize>().ok().and_then(|n| p.controls.get(n)) {
                Some(control) => reply!(control),
                None => Reply::status(404),
            },
            ["actderc"] => {
                let active: Vec<_> = p
                    .controls
                    .iter()
                    .filter(|c| {
                        c.event_status.current_status == 1
                            && c.interval.start <= now
                            && self.listed(c)
                    })
                    .cloned()
                    .collect();
                let page = paging.page(&active).to_vec();
                reply!(DERControlList {
                    href: Some(format!("/derp/{}/actderc", k.0)),
                    all: count(active.len()),
                    results: count(page.len()),
                    der_control: page,
                    ..Default::default()
                })
            }
            ["dderc"] => match &p.default {
                Some(default) => reply!(default),
                None => Reply::status(404),
            },
            _ => Reply::status(404),
        }
    }

    fn response_set(&self, acting: &Acting) -> ResponseSet {
        let visible = self
            .responses
            .iter()
            .filter(|r| acting.covers(&r.end_device_lfdi))
            .count();
        ResponseSet {
            href: Some("/rsps/0".into()),
            mrid: crate::primitives::Mrid::with_pen([0; 12], 37244),
            description: Some("DER control responses".into()),
            response_list_link: list_link("/rsps/0/rsp".into(), visible),
            ..Default::default()
        }
    }

    /// `POST /rsps/0/rsp`: a `DERControlResponse` (or a plain `Response`) about an event this server
    /// published, from the device named in it.
    fn post_response(&mut self, request: &Request, acting: &Acting) -> Reply {
        let response = match crate::resources::decode(&request.body) {
            Ok((crate::resources::AnyResource::DERControlResponse(r), _)) => r,
            Ok((crate::resources::AnyResource::Response(r), _)) => DERControlResponse {
                created_date_time: r.created_date_time,
                end_device_lfdi: r.end_device_lfdi,
                status: r.status,
                subject: r.subject,
                ..Default::default()
            },
            _ => return Reply::bad_request(),
        };
        if !acting.covers(&response.end_device_lfdi) {
            return Reply::status(403);
        }
        // Table 27: a reserved status, or one of the messaging function set's, is no answer to a DER event.
        let for_der = |code: u8| {
            ResponseStatus::from_code(code).is_some_and(|s| {
                !matches!(
                    s,
                    ResponseStatus::EventAcknowledge | ResponseStatus::EventNoDisplay
                )
            })
        };
        if response.status.is_some_and(|code| !for_der(code)) {
            return Reply::bad_request();
        }
        // About an event of a program the responding device sees (any, for the operator).
        let device = match request.client {
            None => Acting::Operator,
            Some(_) => Acting::For(vec![response.end_device_lfdi]),
        };
        let known = self.programs.iter().enumerate().any(|(k, p)| {
            p.controls.iter().any(|c| c.mrid == response.subject)
                && self.may_see_program(&device, ProgramIndex(k))
        });
        if !known {
            return Reply::bad_request();
        }
        let about_this_event = self
            .responses
            .iter()
            .filter(|r| {
                r.end_device_lfdi == response.end_device_lfdi && r.subject == response.subject
            })
            .count();
        if about_this_event >= self.quotas.responses_per_event {
            return Reply::over_quota();
        }
        self.responses.push(response);
        Reply::created(format!(
            "/rsps/0/rsp/{}",
            self.responses.len().saturating_sub(1)
        ))
    }

    /// A mirror usage point as served: with the operator's post rate, if set.
    fn served_mirror(&self, mup: &MirrorUsagePoint) -> MirrorUsagePoint {
        let mut served = mup.clone();
        served.post_rate = self.post_rate.or(served.post_rate);
        served
    }

    /// The mirror usage point holding a meter reading with this mRID.
    fn mirror_of_reading(&self, mrid: &crate::primitives::Mrid) -> Option<usize> {
        self.mirrors
            .iter()
            .position(|u| u.mirror_meter_reading.iter().any(|r| r.mrid == *mrid))
    }

    /// Refuses (409) meter readings whose mRID another mirror usage point — another device's, above all —
    /// already holds, and (429) more meter readings than the quota in mirror `target` (`None`: a new one
    /// holding none yet).
    fn check_readings(
        &self,
        target: Option<usize>,
        readings: &[MirrorMeterReading],
    ) -> Option<Reply> {
        if readings.iter().any(|r| {
            self.mirror_of_reading(&r.mrid)
                .is_some_and(|m| Some(m) != target)
        }) {
            return Some(Reply::status(409));
        }
        let held = target.and_then(|m| self.mirrors.get(m));
        let mut mrids: Vec<_> = held
            .map(|u| u.mirror_meter_reading.iter().map(|r| r.mrid).collect())
            .unwrap_or_default();
        for r in readings {
            if !mrids.contains(&r.mrid) {
                mrids.push(r.mrid);
            }
        }
        (mrids.len() > self.quotas.meter_readings).then(Reply::over_quota)
    }

    /// `POST /mup`: creates a mirror usage point, or updates the one of this device with the same mRID
    /// (clause 10.8: role flags, description, status and the readings it carries) and answers with its
    /// location. An mRID — of the usage point or of a meter reading in it — that another device's mirror
    /// holds is refused with 409.
    fn post_mirror_usage_point(&mut self, request: &Request, acting: &Acting) -> Reply {
        let Ok((mut mup, _)) = MirrorUsagePoint::decode(&request.body) else {
            return Reply::bad_request();
        };
        // Only a registered device mirrors its meters, and only its own (an aggregator: its devices').
        if request.client.is_some()
            && (!acting.covers(&mup.device_lfdi) || self.device_of(&mup.device_lfdi).is_none())
        {
            return Reply::status(403);
        }
        // The schema's facets (String32 descriptions, ...) were checked by the decoder.
        let existing = self.mirrors.iter().position(|u| u.mrid == mup.mrid);
        if existing
            .and_then(|m| self.mirrors.get(m))
            .is_some_and(|u| u.device_lfdi != mup.device_lfdi)
        {
            return Reply::status(409);
        }
        if let Some(refusal) = self.check_readings(existing, &mup.mirror_meter_reading) {
            return refusal;
        }
        if let Some(m) = existing {
            let quotas = self.quotas;
            let Some(held) = self.mirrors.get_mut(m) else {
                return Reply::status(404);
            };
            held.role_flags = mup.role_flags;
            held.service_category_kind = mup.service_category_kind;
            held.status = mup.status;
            held.description = mup.description.take().or(held.description.take());
            held.version = mup.version.or(held.version);
            held.post_rate = mup.post_rate.or(held.post_rate);
            for reading in mup.mirror_meter_reading {
                merge_reading(held, reading, quotas.reading_sets);
            }
            return Reply::created(held.href.clone().unwrap_or_default());
        }
        let of_device = self
            .mirrors
            .iter()
            .filter(|u| u.device_lfdi == mup.device_lfdi)
            .count();
        if of_device >= self.quotas.mirror_usage_points {
            return Reply::over_quota();
        }
        for reading in &mut mup.mirror_meter_reading {
            keep_last(&mut reading.mirror_reading_set, self.quotas.reading_sets);
        }
        // A mirror's href is its own number, kept when others are removed.
        let href = format!("/mup/{}", self.next_mirror);
        self.next_mirror = self.next_mirror.saturating_add(1);
        mup.href = Some(href.clone());
        self.mirrors.push(mup);
        Reply::created(href)
    }

    /// Where in `mirrors` the mirror usage point `/mup/{number}` is.
    fn mirror_at(&self, number: &str) -> Option<usize> {
        let href = format!("/mup/{}", number.parse::<usize>().ok()?);
        self.mirrors
            .iter()
            .position(|u| u.href.as_deref() == Some(href.as_str()))
    }

    /// `POST /mup/{m}`: a `MirrorMeterReading`, or a `MirrorMeterReadingList` of them; each replaces the one
    /// with its mRID, or is added; their reading sets accumulate. Nothing is applied if one is refused.
    fn post_mirror_meter_reading(&mut self, m: usize, request: &Request, acting: &Acting) -> Reply {
        let readings = match crate::resources::decode(&request.body) {
            Ok((AnyResource::MirrorMeterReading(r), _)) => vec![r],
            Ok((AnyResource::MirrorMeterReadingList(l), _)) => l.mirror_meter_reading,
            Err(crate::Error::Structure {
                resource: "MirrorMeterReadingList",
                field: "all" | "results",
                reason: "missing",
                ..
            }) => match posted_list(&request.body) {
                Some(l) => l.mirror_meter_reading,
                None => return Reply::bad_request(),
            },
            _ => return Reply::bad_request(),
        };
        match self.mirrors.get(m) {
            None => return Reply::status(404),
            Some(mup) if !acting.covers(&mup.device_lfdi) => {
                return Reply::status(403);
            }
            Some(_) => {}
        }
        if let Some(refusal) = self.check_readings(Some(m), &readings) {
            return refusal;
        }
        let quotas = self.quotas;
        let Some(mup) = self.mirrors.get_mut(m) else {
            return Reply::status(404);
        };
        for reading in readings {
            merge_reading(mup, reading, quotas.reading_sets);
        }
        Reply::no_content()
    }
}

/// A posted `MirrorMeterReadingList` without the List attributes `all` and `results`. They describe a
/// page the server serves and mean nothing in a post, so CSIP-AUS clients leave them out (the schema
/// requires them); the server supplies them and reads the list as it would read a complete one.
fn posted_list(body: &[u8]) -> Option<crate::resources::MirrorMeterReadingList> {
    const ROOT: &[u8] = b"<MirrorMeterReadingList";
    let at = body.windows(ROOT.len()).position(|w| w == ROOT)?;
    let name_end = at.checked_add(ROOT.len())?;
    let mut completed = Vec::with_capacity(body.len().saturating_add(24));
    completed.extend_from_slice(body.get(..name_end)?);
    completed.extend_from_slice(br#" all="0" results="0""#);
    completed.extend_from_slice(body.get(name_end..)?);
    crate::resources::MirrorMeterReadingList::decode(&completed)
        .ok()
        .map(|(l, _)| l)
}

/// Puts `reading` in `mup`: it replaces the one with its mRID (its reading sets added to those kept), or
/// is added; at most `reading_sets` sets are kept, the newest.
fn merge_reading(mup: &mut MirrorUsagePoint, mut reading: MirrorMeterReading, reading_sets: usize) {
    match mup
        .mirror_meter_reading
        .iter_mut()
        .find(|r| r.mrid == reading.mrid)
    {
        Some(existing) => {
            existing
                .mirror_reading_set
                .extend(reading.mirror_reading_set);
            keep_last(&mut existing.mirror_reading_set, reading_sets);
            existing.reading = reading.reading.or(existing.reading.take());
            existing.reading_type = reading.reading_type.or(existing.reading_type.take());
            existing.description = reading.description.or(existing.description.take());
            existing.last_update_time = reading.last_update_time;
            existing.next_update_time = reading.next_update_time;
        }
        None => {
            keep_last(&mut reading.mirror_reading_set, reading_sets);
            mup.mirror_meter_reading.push(reading);
        }
    }
}

/// Keeps the last `most` items of `items`.
fn keep_last<T>(items: &mut Vec<T>, most: usize) {
    let excess = items.len().saturating_sub(most);
    items.drain(..excess);
}
