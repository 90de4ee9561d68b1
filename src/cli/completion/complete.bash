# The ccp being completed (as typed: ccp, ./bin/ccp, ~/bin/ccp) names the ports and profiles.
_ccp_words() {
  local ccp=${COMP_WORDS[0]} i config=()
  [[ $ccp == "~/"* ]] && ccp=$HOME/${ccp#\~/}
  for ((i = 1; i + 1 < ${#COMP_WORDS[@]}; i++)); do
    case ${COMP_WORDS[i]} in
      -c | --config) config=(--config "${COMP_WORDS[i+1]/#\~/$HOME}") ;;
    esac
  done
  "$ccp" completion --words "$1" "${config[@]}" 2>/dev/null
}

# Fills COMPREPLY with the values of a kind that match $1: port, profile, file, command, choices a b...
_ccp_values() {
  local cur=$1 kind=$2
  shift 2
  case $kind in
    # Words from ccp, one a line, taken literally (compgen -W would expand them again, and $(...) glob them).
    port | profile)
      local w
      while IFS= read -r w; do [[ -n $w && $w == "$cur"* ]] && COMPREPLY+=("$w"); done < <(_ccp_words "${kind}s")
      ;;
    file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
    command) COMPREPLY=($(compgen -c -- "$cur")) ;;
    choices) COMPREPLY=($(compgen -W "$*" -- "$cur")) ;;
  esac
}

# Walks the words before the cursor to the command they name (options and their values skipped),
# then offers its subcommands, its options, or what the option or argument at the cursor takes.
_ccp_completion() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev= cmdpath= npos=0 i w rest value cmdword=0
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    rest=$(_ccp_rest "$cmdpath")
    if [[ -n $rest ]] && ((npos >= rest)); then break; fi
    case $w in
      --*=* | =) ;;
      -*)
        if [[ -n $(_ccp_option_value "$cmdpath" "$w") ]]; then
          ((i++))
          # bash splits --port=8082 at the = (COMP_WORDBREAKS): the value follows it.
          [[ ${COMP_WORDS[i]} == = ]] && ((i++))
        fi
        ;;
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
    # wrap's command and its arguments complete as that command's own (bash-completion's
    # _command_offset, as sudo's do), else as files.
    if declare -F _command_offset >/dev/null; then _command_offset "$cmdword"; else _ccp_values "$cur" file; fi
    return 0
  fi
  ((COMP_CWORD > 1)) && prev=${COMP_WORDS[COMP_CWORD-1]}
  [[ $cur == = ]] && cur=
  [[ $prev == = ]] && ((COMP_CWORD > 2)) && prev=${COMP_WORDS[COMP_CWORD-2]}
  if [[ $prev == -* ]]; then
    value=$(_ccp_option_value "$cmdpath" "$prev")
    if [[ -n $value ]]; then
      _ccp_values "$cur" $value
      return 0
    fi
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_ccp_options "$cmdpath")" -- "$cur"))
    return 0
  fi
  value=$(_ccp_commands "$cmdpath")
  if [[ -n $value ]]; then
    COMPREPLY=($(compgen -W "$value" -- "$cur"))
    return 0
  fi
  value=$(_ccp_arg "$cmdpath" "$npos")
  [[ -n $value ]] && _ccp_values "$cur" $value
  return 0
}

complete -F _ccp_completion ccp
