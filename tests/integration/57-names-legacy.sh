#!/usr/bin/env bash
# Container names again, with dockerd on iptables-legacy (the lab's other
# engine setup).
exec env E2E_LEGACY=1 bash "$(dirname "$0")/57-names.sh"
