# The ccp being completed (as typed: ccp, ./bin/ccp, ~/bin/ccp) names the ports and profiles.
function __ccp_words
    set -l tokens (commandline -opc)
    set -l config
    for i in (seq 2 (math (count $tokens) - 1))
        if contains -- $tokens[$i] -c --config
            set config --config $tokens[(math $i + 1)]
        end
    end
    $tokens[1] completion --words $argv[1] $config 2>/dev/null
end

# Only what the table below offers: files where a value is a file.
complete -c ccp -f
