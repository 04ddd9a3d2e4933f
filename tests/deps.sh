#!/bin/sh
# Install what mqttls needs, and only what is missing, from Debian's packages.
# Arguments: "package:probe" pairs. The probe is a pkg-config module, a command, or an
# absolute path; the package is installed only when its probe fails.
set -u

missing=""
for pair in "$@"; do
	pkg=${pair%%:*}
	probe=${pair#*:}
	case "$probe" in
	/*) [ -e "$probe" ] && continue ;;
	*)
		if command -v "$probe" >/dev/null 2>&1; then continue; fi
		if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$probe" 2>/dev/null; then continue; fi
		;;
	esac
	# The probe failed; dpkg may still know the package (a tool in sbin, say).
	if [ "$probe" = "$pkg" ] || ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $pkg"
	fi
done

# libFuzzer's runtime ships separately from clang on Debian.
case " $* " in
*" clang:clang "*)
	if command -v clang >/dev/null 2>&1; then
		major=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
		if [ -n "$major" ] && ! ls /usr/lib/llvm-"$major"/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1; then
			missing="$missing libclang-rt-$major-dev"
		fi
	fi
	;;
esac

[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "mqttls: these Debian packages are missing:$missing" >&2
	echo "mqttls: install them as root: apt-get install -y$missing" >&2
	exit 1
fi

echo "mqttls: installing missing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! $SUDO apt-get install -y -q $missing; then
	# Stale or empty package lists: refresh once and try again.
	$SUDO apt-get update -q || exit 1
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q $missing || exit 1
fi

# clang may have just arrived: its fuzzer runtime is a separate package.
case " $* " in
*" clang:clang "*)
	major=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
	if [ -n "$major" ] && ! ls /usr/lib/llvm-"$major"/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1; then
		$SUDO apt-get install -y -q "libclang-rt-$major-dev" || exit 1
	fi
	;;
esac
exit 0
