//! The typed IDEA domain (in progress).
#![forbid(unsafe_code)]
