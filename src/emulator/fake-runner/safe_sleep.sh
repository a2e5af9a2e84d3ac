#!/bin/sh
# Fake actions/runner safe_sleep.sh: the real one sleeps without relying on `sleep` being installed.
sleep "$1"
