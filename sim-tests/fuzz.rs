//! Tests of simloop::fuzz (filled in below).
