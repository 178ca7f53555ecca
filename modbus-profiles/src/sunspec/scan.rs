//! Discovery as a sans-IO state machine: the scanner says which registers to read next, the caller reads
//! them over any transport and hands back the values or the failure.
//!
//! Order: "SunS" at 40000, then 0, then 50000; then each model's `ID` and `L`, its top-level points, and —
//! once the counts they hold are known — the rest of its body, every read starting and ending on a point
//! boundary and at most 125 registers. The chain ends at model id `0xFFFF`.

use super::catalog::Catalog;
use super::device::{BASES, Device, END_MODEL, SUNS};
use super::instance::Model;
use crate::Error;
use crate::frame::ExceptionCode;
use std::collections::VecDeque;

/// Registers one read (function 3) may return.
pub const MAX_READ: u16 = 125;

/// Most models a scan follows before it stops (a map that never ends).
pub const MAX_MODELS: usize = 256;

/// One read the scanner needs: `count` holding registers from `address`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRequest {
    /// First register.
    pub address: u16,
    /// How many (1..=125).
    pub count: u16,
}

/// Why a read gave no registers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadFailure {
    /// The device answered with a Modbus exception.
    Exception(ExceptionCode),
    /// No answer, or the transport failed; the text says what happened.
    NoAnswer(String),
}

#[derive(Debug)]
enum State {
    Probe {
        base: usize,
    },
    Header {
        address: u16,
    },
    HeaderIdOnly {
        address: u16,
    },
    Body {
        address: u16,
        regs: Vec<u16>,
        reads: VecDeque<(usize, usize)>,
        laid_out: bool,
    },
    Done,
}

/// Discovers a SunSpec device's models.
#[derive(Debug)]
pub struct Scanner {
    catalog: Catalog,
    bases: Vec<u16>,
    state: State,
    base: Option<u16>,
    models: Vec<Model>,
    tried: Vec<String>,
    reads: usize,
}

impl Scanner {
    /// A scanner trying the standard bases (40000, 0, 50000) with the models of `catalog`.
    pub fn new(catalog: Catalog) -> Self {
        Self::with_bases(catalog, &BASES)
    }

    /// A scanner trying only `bases`, in order.
    pub fn with_bases(catalog: Catalog, bases: &[u16]) -> Self {
        Self {
            catalog,
            bases: bases.to_vec(),
            state: State::Probe { base: 0 },
            base: None,
            models: Vec::new(),
            tried: Vec::new(),
            reads: 0,
        }
    }

    /// The read to do next; `None` once the scan is over.
    pub fn poll_read(&self) -> Option<ReadRequest> {
        let request = |address: u16, count: usize| {
            Some(ReadRequest {
                address,
                count: u16::try_from(count).unwrap_or(MAX_READ),
            })
        };
        match &self.state {
            State::Probe { base } => request(*self.bases.get(*base)?, 4),
            State::Header { address } => request(*address, 2),
            State::HeaderIdOnly { address } => request(*address, 1),
            State::Body { address, reads, .. } => {
                let (offset, count) = reads.front()?;
                request(offset_address(*address, *offset)?, *count)
            }
            State::Done => None,
        }
    }

    /// Reads answered so far.
    pub fn reads(&self) -> usize {
        self.reads
    }

    /// The registers the last [`poll_read`](Self::poll_read) asked for.
    ///
    /// # Errors
    /// [`Error::Invalid`] when the count differs from the request (the scan stops).
    pub fn handle_registers(&mut self, values: &[u16]) -> Result<(), Error> {
        let Some(request) = self.poll_read() else {
            return Ok(());
        };
        if values.len() != usize::from(request.count) {
            self.state = State::Done;
            return Err(Error::Invalid {
                field: "registers",
                reason: format!(
                    "asked for {} registers at {}, got {}",
                    request.count,
                    request.address,
                    values.len()
                ),
            });
        }
        self.reads = self.reads.saturating_add(1);
        let state = std::mem::replace(&mut self.state, State::Done);
        self.state = match state {
            State::Probe { base } => match values {
                [s0, s1, id, len] if [*s0, *s1] == SUNS => {
                    self.base = Some(request.address);
                    self.model_start(request.address.saturating_add(2), *id, Some(*len))
                }
                _ => {
                    self.tried
                        .push(format!("{}: no SunS marker", request.address));
                    State::Probe {
                        base: base.saturating_add(1),
                    }
                }
            },
            State::Header { address } => match values {
                [id, len] => self.model_start(address, *id, Some(*len)),
                _ => State::Done,
            },
            // The end marker, or a model whose length cannot be read: either way nothing more can be followed.
            State::HeaderIdOnly { .. } => State::Done,
            State::Body {
                address,
                mut regs,
                mut reads,
                laid_out,
            } => {
                if let Some((offset, count)) = reads.pop_front()
                    && let Some(slot) = regs.get_mut(offset..offset.saturating_add(count))
                {
                    slot.copy_from_slice(values);
                }
                self.body_next(address, regs, reads, laid_out)
            }
            State::Done => State::Done,
        };
        Ok(())
    }

    /// The last read failed.
    pub fn handle_failure(&mut self, failure: &ReadFailure) {
        let Some(request) = self.poll_read() else {
            return;
        };
        let state = std::mem::replace(&mut self.state, State::Done);
        self.state = match state {
            State::Probe { base } => {
                self.tried.push(format!("{}: {failure:?}", request.address));
                State::Probe {
                    base: base.saturating_add(1),
                }
            }
            // Some devices give no L for the end model: read the id alone.
            State::Header { address } => State::HeaderIdOnly { address },
            State::HeaderIdOnly { .. } | State::Done => State::Done,
            State::Body { address, regs, .. } => {
                let len = regs.len();
                let mut model = Model::from_registers(None, address, regs);
                model.set_problem(format!(
                    "reading {} registers at {}: {failure:?}",
                    request.count, request.address
                ));
                self.models.push(model);
                self.next_header(address, len)
            }
        };
    }

    /// The device found, once [`poll_read`](Self::poll_read) says `None`.
    ///
    /// # Errors
    /// [`Error::Invalid`] when no base held "SunS" (saying what each base answered).
    pub fn finish(self) -> Result<Device, Error> {
        match self.base {
            Some(base) => Ok(Device::scanned(base, self.models)),
            None => Err(Error::Invalid {
                field: "SunS",
                reason: format!("no SunSpec map found ({})", self.tried.join("; ")),
            }),
        }
    }

    fn model_start(&mut self, address: u16, id: u16, len: Option<u16>) -> State {
        if id == END_MODEL || self.models.len() >= MAX_MODELS {
            return State::Done;
        }
        let Some(len) = len else {
            return State::HeaderIdOnly { address };
        };
        let total = usize::from(len).saturating_add(2);
        if usize::from(address).saturating_add(total) > 0x1_0000 {
            return State::Done;
        }
        let mut regs = vec![0u16; total];
        if let [i, l, ..] = regs.as_mut_slice() {
            (*i, *l) = (id, len);
        }
        // First the top-level points (they hold the counts), then the rest once laid out.
        let reads = match self.catalog.get(id) {
            Some(def) => {
                let root_end = def.root.points_len().min(total);
                let starts = point_starts(def.root.points.iter().map(|p| usize::from(p.size)));
                chunks(&starts, 2, root_end)
            }
            None => chunks(&[], 2, total),
        };
        self.body_next(address, regs, reads, false)
    }

    fn body_next(
        &mut self,
        address: u16,
        regs: Vec<u16>,
        mut reads: VecDeque<(usize, usize)>,
        laid_out: bool,
    ) -> State {
        if !reads.is_empty() {
            return State::Body {
                address,
                regs,
                reads,
                laid_out,
            };
        }
        let id = regs.first().copied().unwrap_or(0);
        let def = self.catalog.get(id).cloned();
        if !laid_out && let Some(def) = &def {
            let root_end = def.root.points_len().min(regs.len());
            let model = Model::from_registers(Some(def.clone()), address, regs.clone());
            let starts: Vec<usize> = model
                .points()
                .iter()
                .map(|(_, p)| usize::from(p.address.wrapping_sub(address)))
                .collect();
            reads = chunks(&starts, root_end, regs.len());
            if !reads.is_empty() {
                return State::Body {
                    address,
                    regs,
                    reads,
                    laid_out: true,
                };
            }
        }
        let len = regs.len();
        self.models.push(Model::from_registers(def, address, regs));
        self.next_header(address, len)
    }

    fn next_header(&self, address: u16, len: usize) -> State {
        match offset_address(address, len) {
            Some(next) if usize::from(next) < 0xFFFF => State::Header { address: next },
            _ => State::Done,
        }
    }
}

fn offset_address(address: u16, offset: usize) -> Option<u16> {
    u16::try_from(usize::from(address).checked_add(offset)?).ok()
}

/// Start offsets of consecutive points of the given sizes, from offset 0.
fn point_starts(sizes: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut at = 0usize;
    sizes
        .map(|size| {
            let start = at;
            at = at.saturating_add(size);
            start
        })
        .collect()
}

/// Reads covering `[from, to)`, each ending on a point start (or `to`) and at most [`MAX_READ`] long; a
/// point longer than that is split.
fn chunks(starts: &[usize], from: usize, to: usize) -> VecDeque<(usize, usize)> {
    let mut bounds: Vec<usize> = starts
        .iter()
        .copied()
        .filter(|s| *s > from && *s < to)
        .collect();
    bounds.push(to);
    bounds.sort_unstable();
    bounds.dedup();
    let max = usize::from(MAX_READ);
    let mut reads = VecDeque::new();
    let mut at = from;
    while at < to {
        let limit = at.saturating_add(max);
        let end = bounds
            .iter()
            .copied()
            .filter(|b| *b > at && *b <= limit)
            .max()
            .unwrap_or(limit.min(to));
        reads.push_back((at, end.saturating_sub(at)));
        at = end;
    }
    reads
}

#[cfg(test)]
mod tests {
    use super::chunks;

    #[test]
    fn chunks_end_on_point_starts_and_split_long_points() {
        let starts = [0, 2, 100, 130, 200];
        assert_eq!(
            Vec::from(chunks(&starts, 2, 210)),
            vec![(2, 98), (100, 110)]
        );
        assert_eq!(
            Vec::from(chunks(&[], 2, 300)),
            vec![(2, 125), (127, 125), (252, 48)]
        );
        assert!(chunks(&starts, 5, 5).is_empty());
    }
}
