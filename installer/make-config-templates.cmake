# make-config-templates.cmake - the config files the installers seed
# %ProgramData%\nlbctl\nlbctld.ini with, one per role, made from the
# documented example so that every key keeps its explanation.
#
#   cmake -DEXAMPLE=nlbctld.example.ini -DOUT_DIR=dir -P make-config-templates.cmake
#
# Two changes to the example, each checked so that an edit to the example
# cannot silently produce a wrong template:
#   - role = agent becomes the installer's ROLE;
#   - the example's public pre-shared key is commented out: an installed
#     service must never run with a key printed in our documentation, so it
#     refuses to start (exit code 2, "no pre-shared key configured") until
#     the administrator sets one.
# Lines end in CRLF, for Notepad on older Windows Server versions.

file(READ "${EXAMPLE}" text)
set(role_line "role = agent\n")
string(FIND "${text}" "\n${role_line}" at)
if(at EQUAL -1)
    message(FATAL_ERROR "${EXAMPLE}: no '${role_line}' line to set the role in")
endif()
string(REGEX MATCH "\nkey = [0-9a-fA-F]+\n" key_line "${text}")
if(NOT key_line)
    message(FATAL_ERROR "${EXAMPLE}: no active 'key = <hex>' line to comment out")
endif()

set(header
"; nlbctld.ini - this host's nlbctld configuration, written once by the
; nlbctl installer from the documented example (nlbctld.example.ini in the
; installation folder). Upgrades and reinstalls never overwrite this file.
;
; BEFORE STARTING THE SERVICE: set [security] key (the same on both nodes and
; the coordinator) and replace the example names and 192.0.2.x addresses.
; The service refuses to start until a key is set. Then check the file and
; start the service from an elevated prompt:
;   nlbctld --check --config \"%ProgramData%\\nlbctl\\nlbctld.ini\"
;   net start nlbctld
;
")
foreach(role agent coordinator)
    string(REPLACE "\n${role_line}" "\nrole = ${role}\n" out "${text}")
    string(REPLACE "${key_line}"
           "\n; Set your own key here (the service does not start without one):\n;key = <64 hex digits>\n"
           out "${out}")
    set(out "${header}${out}")
    string(REPLACE "\r\n" "\n" out "${out}")
    string(REPLACE "\n" "\r\n" out "${out}")
    file(WRITE "${OUT_DIR}/nlbctld-${role}.ini.tmp" "${out}")
    file(RENAME "${OUT_DIR}/nlbctld-${role}.ini.tmp" "${OUT_DIR}/nlbctld-${role}.ini")
endforeach()
