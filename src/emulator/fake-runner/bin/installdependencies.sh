#!/bin/sh
# Fake actions/runner bin/installdependencies.sh. The real one installs the .NET runtime's
# libraries (libicu, libssl, krb5, ...); the fake runner only needs wget, its HTTP client (see
# runner-lib.sh), which minimal cloud images may lack. Busybox systems have it as an applet.
# Same contract as the real one: root only, the distribution's package manager, a closing banner.

if [ "$(id -u)" -ne 0 ]; then
  echo "Need to run with sudo privilege"
  exit 1
fi

print_errormessage() {
  echo "Can't install the fake runner's dependencies (wget)."
  echo "You can install wget with the distribution's package manager and run this again."
}

# $1: the package manager's name, $2: its exit code.
fail_install() {
  echo "'$1' failed with exit code '$2'"
  print_errormessage
  exit 1
}

finish() {
  echo "-----------------------------"
  echo " Finish Install Dependencies"
  echo "-----------------------------"
  exit 0
}

# Without recommends: they pull in dozens of packages on a minimal image. The package lists of a
# fresh container may be empty or stale, so `update` runs only when the first try failed.
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wget && return 0
  apt-get update || fail_install apt-get $?
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wget || fail_install apt-get $?
}

if [ -r /etc/os-release ]; then
  echo "--------OS Information--------"
  cat /etc/os-release
  echo "------------------------------"
fi

if command -v wget >/dev/null 2>&1; then
  echo "wget is already installed: $(command -v wget)"
  finish
fi

if command -v apt-get >/dev/null 2>&1; then
  apt_install
elif command -v dnf >/dev/null 2>&1; then
  dnf install -y wget || fail_install dnf $?
elif command -v yum >/dev/null 2>&1; then
  yum install -y wget || fail_install yum $?
elif command -v apk >/dev/null 2>&1; then
  apk add --no-cache wget || fail_install apk $?
elif command -v zypper >/dev/null 2>&1; then
  zypper -n install wget || fail_install zypper $?
else
  echo "Found none of 'apt-get', 'dnf', 'yum', 'apk' or 'zypper'"
  print_errormessage
  exit 1
fi

if ! command -v wget >/dev/null 2>&1; then
  echo "wget is still not on PATH after the install"
  print_errormessage
  exit 1
fi
finish
