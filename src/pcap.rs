//! pcap files (in progress).
