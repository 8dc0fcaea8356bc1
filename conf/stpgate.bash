# SPDX-License-Identifier: Apache-2.0
# bash completion for stpgate (installed as
# DATADIR/bash-completion/completions/stpgate, where the bash-completion
# package loads it on first use; or `source` it).  Plain bash: it needs none
# of bash-completion's helpers.
#
# Completes the commands, each command's options (as `stpgate CMD --help`
# lists them), file names after -c/--config (*.yaml, *.yml and
# directories), -o/--output, -s/--socket and as the FILE of pubkey and
# fingerprint, the levels after -l/--log-level, and peer names as the argument of `status` (`stpgate
# status PEER` prints that peer's row only): the names under `peers:` in the
# config given with -c (else $STPGATE_CONFIG, else /etc/stpgate/stpgate.yaml).

# _stpgate_peers FILE: the keys of FILE's top-level `peers:` mapping, one a
# line.  Not a YAML parser: the first indented line after `peers:` sets the
# peers' indentation (any width), keys at that indentation are the names
# (quoted or not), deeper lines are their settings, and the next top-level
# key ends the mapping.  A flow mapping (`peers: {...}`) gives nothing.
_stpgate_peers() {
	awk '
	{ sub(/\r$/, "") }
	/^[ \t]*(#.*)?$/ { next }
	/^[^ \t]/ { inpeers = ($0 ~ /^peers[ \t]*:[ \t]*(#.*)?$/); ind = -1; next }
	inpeers {
		match($0, /^[ \t]*/)
		i = RLENGTH
		if (ind < 0)
			ind = i
		if (i != ind)
			next
		line = substr($0, i + 1)
		if (!match(line, /^[^:#]*:([ \t]|$)/))
			next
		name = substr(line, 1, RLENGTH)
		sub(/[ \t]*:[ \t]*$/, "", name)
		q = substr(name, 1, 1)
		if ((q == "\"" || q == "\047") && length(name) > 1 &&
		    substr(name, length(name), 1) == q)
			name = substr(name, 2, length(name) - 2)
		# What the config accepts as a name, and nothing a shell
		# would read as more than a word.
		if (name ~ /^[A-Za-z0-9_.-]+$/ && length(name) <= 63)
			print name
	}' "$1" 2>/dev/null
}

# _stpgate_add KIND PREFIX TEXT: append to COMPREPLY the completions of
# TEXT, each with PREFIX before it.  KIND: yaml (directories and
# *.yaml/*.yml files), file (any file), or a list of words, one a line or
# space-separated (matched here, not by compgen -W, which would expand
# them: peer names come from a file).
_stpgate_add() {
	local kind=$1 pre=$2 text=$3 w IFS=$' \t\n'
	local -a got=()
	case $kind in
	yaml)
		compopt -o filenames 2>/dev/null
		mapfile -t got < <(compgen -d -- "$text"
			compgen -f -X '!*.yaml' -- "$text"
			compgen -f -X '!*.yml' -- "$text")
		;;
	file)
		compopt -o filenames 2>/dev/null
		mapfile -t got < <(compgen -f -- "$text")
		;;
	*)
		for w in $kind; do
			[[ $w == "$text"* ]] && got+=("$w")
		done
		;;
	esac
	for w in "${got[@]}"; do
		COMPREPLY+=("$pre$w")
	done
}

_stpgate() {
	COMPREPLY=()
	# COMP_WORDS splits "--config=FILE" into "--config", "=", "FILE" (=
	# is in COMP_WORDBREAKS): join them again, so that each word is one
	# argument as getopt_long sees it.
	local -a words=()
	local i w cword=0 join=0
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		if ((join)); then
			words[${#words[@]} - 1]+=$w
			join=0
		elif [[ $w == = && ${#words[@]} -gt 0 && ${words[-1]} == --* &&
			${words[-1]} != *=* ]]; then
			words[${#words[@]} - 1]+=$w
			join=1
		else
			words+=("$w")
		fi
		((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
	done
	((i <= COMP_CWORD)) && { words+=(""); cword=$((${#words[@]} - 1)); }
	local cur=${words[cword]}

	local commands="run check status reload keygen pubkey fingerprint secret"
	local levels="error warn info debug"
	# The command: the first word that is not an option (the options
	# before it, --help and --version, take no argument).
	local cmd='' ci=0
	for ((i = 1; i < cword; i++)); do
		if [[ ${words[i]} != -* ]]; then
			cmd=${words[i]} ci=$i
			break
		fi
	done
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			_stpgate_add "--help -h --version -V" "" "$cur"
		else
			_stpgate_add "$commands" "" "$cur"
		fi
		return 0
	fi

	# Each command's options; argopts take an argument.
	local opts argopts="" npos=0 pos=
	case $cmd in
	run) opts="-c --config -l --log-level -v --verbose" argopts="-c --config -l --log-level" ;;
	check) opts="-c --config" argopts="-c --config" ;;
	status) opts="-c --config -s --socket --json" argopts="-c --config -s --socket" pos=peer npos=1 ;;
	reload) opts="-c --config -s --socket" argopts="-c --config -s --socket" ;;
	keygen) opts="-o --output -f --force" argopts="-o --output" ;;
	pubkey) opts="" pos=file npos=1 ;;
	fingerprint) opts="" pos=file npos=1 ;;
	secret) opts="-o --output" argopts="-o --output" ;;
	*) return 0 ;;
	esac
	opts+=" -h --help"

	# Walk the words between the command and the cursor: the config given
	# (for peer names), how many arguments are already there, and whether
	# the word before the cursor is an option waiting for its argument.
	local config='' nargs=0 want='' dashdash=0
	for ((i = ci + 1; i < cword; i++)); do
		w=${words[i]}
		if [[ -n $want ]]; then
			[[ $want == -c || $want == --config ]] && config=$w
			want=''
		elif ((dashdash)) || [[ $w != -?* ]]; then
			nargs=$((nargs + 1))
		elif [[ $w == -- ]]; then
			dashdash=1
		elif [[ " $argopts " == *" $w "* ]]; then
			want=$w
		elif [[ $w == --config=* ]]; then
			config=${w#--config=}
		elif [[ $w == -c?* ]]; then
			config=${w#-c}
		fi
	done

	# The argument of an option: "OPT ARG", "--opt=ARG" or "-xARG".
	local opt='' arg='' pre=''
	if [[ -n $want ]]; then
		opt=$want arg=$cur
	elif ((!dashdash)) && [[ $cur == --*=* ]]; then
		opt=${cur%%=*} arg=${cur#*=}
		# Where "=" breaks words, readline completes only what follows it.
		[[ ${COMP_WORDBREAKS-=} == *=* ]] || pre=$opt=
	elif ((!dashdash)) && [[ $cur == -[a-z]?* && $cur != --* ]]; then
		opt=${cur:0:2} arg=${cur:2} pre=$opt
		[[ " $argopts " == *" $opt "* ]] || opt=
	fi
	if [[ -n $opt ]]; then
		case $opt in
		-c | --config) _stpgate_add yaml "$pre" "$arg" ;;
		-o | --output | -s | --socket) _stpgate_add file "$pre" "$arg" ;;
		-l | --log-level) _stpgate_add "$levels" "$pre" "$arg" ;;
		esac
		return 0
	fi

	if ((!dashdash)) && [[ $cur == -* ]]; then
		_stpgate_add "$opts" "" "$cur"
		return 0
	fi
	if ((nargs < npos)); then
		case $pos in
		file) _stpgate_add file "" "$cur" ;;
		peer)
			[[ -n $config ]] || config=${STPGATE_CONFIG:-/etc/stpgate/stpgate.yaml}
			# A ~/ the shell has not expanded yet (it is still a word).
			# shellcheck disable=SC2088
			[[ $config == "~/"* ]] && config=$HOME/${config#"~/"}
			_stpgate_add "$(_stpgate_peers "$config")" "" "$cur"
			;;
		esac
	elif [[ -z $cur ]]; then
		_stpgate_add "$opts" "" "$cur"
	fi
	return 0
}
complete -F _stpgate stpgate
