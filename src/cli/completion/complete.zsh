# The ccp being completed (as typed: ccp, ./bin/ccp, ~/bin/ccp) names the ports and profiles.
_ccp_words() {
  local ccp=${words[1]/#\~/$HOME} i
  local -a config
  for ((i = 2; i < $#words; i++)); do
    case ${words[i]} in
      -c | --config) config=(--config ${words[i+1]/#\~/$HOME}) ;;
    esac
  done
  $ccp completion --words $1 $config 2>/dev/null
}

# Offers the values of a kind: port, profile, file, command, choices a b...
_ccp_values() {
  local kind=$1
  shift
  case $kind in
    port) compadd -- ${(f)"$(_ccp_words ports)"} ;;
    profile) compadd -- ${(f)"$(_ccp_words profiles)"} ;;
    file) _files ;;
    command) _command_names -e ;;
    choices) compadd -- "$@" ;;
  esac
}

# Walks the words before the cursor to the command they name (options and their values skipped),
# then offers its subcommands, its options, or what the option or argument at the cursor takes.
_ccp() {
  local cmdpath= npos=0 i w rest value cmdword=0 cur=${words[CURRENT]} prev=${words[CURRENT-1]}
  local -a described
  for ((i = 2; i < CURRENT; i++)); do
    w=${words[i]}
    rest=$(_ccp_rest "$cmdpath")
    if [[ -n $rest ]] && ((npos >= rest)); then break; fi
    case $w in
      --*=*) ;;
      -*) [[ -n $(_ccp_option_value "$cmdpath" "$w") ]] && ((i++)) ;;
      *)
        if [[ " $(_ccp_commands "$cmdpath") " == *" $w "* ]]; then
          cmdpath=${cmdpath:+$cmdpath }$w
          npos=0
        else
          ((npos == 0)) && cmdword=$i
          ((npos++))
        fi
        ;;
    esac
  done
  rest=$(_ccp_rest "$cmdpath")
  if [[ -n $rest ]] && ((npos >= rest)); then
    # wrap's command and its arguments complete as that command's own (like sudo's).
    words=("${(@)words[cmdword,-1]}")
    ((CURRENT -= cmdword - 1))
    _normal
    return
  fi
  if [[ $cur == --*=* ]]; then
    value=$(_ccp_option_value "$cmdpath" "${cur%%=*}")
    if [[ -n $value ]]; then
      compset -P '*='
      _ccp_values ${=value}
      return
    fi
  fi
  if ((CURRENT > 2)) && [[ $prev == -* ]]; then
    value=$(_ccp_option_value "$cmdpath" "$prev")
    if [[ -n $value ]]; then
      _ccp_values ${=value}
      return
    fi
  fi
  if [[ $cur == -* ]]; then
    described=(${(f)"$(_ccp_option_descriptions "$cmdpath")"})
    _describe -t options option described
    return
  fi
  described=(${(f)"$(_ccp_command_descriptions "$cmdpath")"})
  if ((${#described})); then
    _describe -t commands command described
    return
  fi
  value=$(_ccp_arg "$cmdpath" "$npos")
  [[ -n $value ]] && _ccp_values ${=value}
}

# Sourced (source <(ccp completion zsh)), it registers itself; autoloaded from $fpath as _ccp, it completes.
if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
  _ccp "$@"
else
  compdef _ccp ccp
fi
