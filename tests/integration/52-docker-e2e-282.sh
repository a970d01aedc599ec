#!/usr/bin/env bash
# The end-to-end scenarios again, with Docker 28.2+'s raw-table drops (and
# 28.0's DOCKER drop) in place on iptables-nft.
exec env E2E_DOCKER282=1 bash "$(dirname "$0")/50-docker-e2e.sh"
