; nlbctl.nsi - setup.exe for nlbctl (NSIS 3, 64-bit).
;
;   makensis -DVERSION=x.y.z -DSTAGE=dir -DOUTFILE=path nlbctl.nsi
; STAGE holds nlbctld.exe, nlbctl.exe, nlbctld.example.ini and the templates
; nlbctld-agent.ini and nlbctld-coordinator.ini.
;
; Command line (installer/README.md has the whole story):
;   nlbctl-setup.exe [/S] [/ROLE=agent|coordinator] [/CONFIG=C:\full\path.ini] [/D=C:\dir]
;   uninstall.exe [/S] [/PURGE]
; Exit codes: 0 done, 1 cancelled, 2 aborted (bad option, file not found,
; service cannot be registered); the reason is in the details / message.

Unicode true
Target amd64-unicode
SetCompressor /SOLID lzma
RequestExecutionLevel admin
ManifestSupportedOS all

!include LogicLib.nsh
!include FileFunc.nsh
!include StrFunc.nsh

${StrStr}
${UnStrStr}

!define SERVICE "nlbctld"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\nlbctl"
!define EVENTLOG_KEY "SYSTEM\CurrentControlSet\Services\EventLog\Application\${SERVICE}"

Name "nlbctl ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\nlbctl"
; An upgrade goes where the last installation went.
InstallDirRegKey HKLM "${UNINST_KEY}" "InstallLocation"
ShowInstDetails show
ShowUninstDetails show
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "nlbctl"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "nlbctl ${VERSION} setup"
VIAddVersionKey "LegalCopyright" "nlbctl project"

Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

Var Role
Var ConfigSrc
Var DataDir
Var Purge

; ---- helpers shared by install and uninstall --------------------------------

; Waits (at most 30 s) until the service is stopped or gone, so that its
; executable can be replaced or deleted. `net stop` alone is not enough:
; it gives up after a while on a slow stop, and Wine's does not wait at all.
!macro WAIT_STOPPED un
Function ${un}WaitStopped
    Push $0
    Push $1
    Push $2
    StrCpy $2 0
    ${Do}
        nsExec::ExecToStack '"$SYSDIR\sc.exe" query ${SERVICE}'
        Pop $0
        Pop $1
        ${If} $0 != 0
            ${Break}  ; no such service
        ${EndIf}
        !if "${un}" == ""
            ${StrStr} $0 $1 "STOPPED"
        !else
            ${UnStrStr} $0 $1 "STOPPED"
        !endif
        ${If} $0 != ""
            ${Break}
        ${EndIf}
        IntOp $2 $2 + 1
        ${If} $2 > 60
            DetailPrint "the ${SERVICE} service has not stopped after 30 s"
            ${Break}
        ${EndIf}
        Sleep 500
    ${Loop}
    Pop $2
    Pop $1
    Pop $0
FunctionEnd
!macroend
!insertmacro WAIT_STOPPED ""
!insertmacro WAIT_STOPPED "un."

!macro STOP_SERVICE
    nsExec::ExecToLog '"$SYSDIR\net.exe" stop ${SERVICE}'
    Pop $0
!macroend

; ---- install ------------------------------------------------------------------

Function .onInit
    SetShellVarContext all
    SetRegView 64
    ${GetParameters} $0
    ClearErrors
    ${GetOptions} $0 "/ROLE=" $Role
    ${If} ${Errors}
        StrCpy $Role "agent"
    ${EndIf}
    ${If} $Role != "agent"
    ${AndIf} $Role != "coordinator"
        MessageBox MB_ICONSTOP "/ROLE must be agent or coordinator, not '$Role'." /SD IDOK
        SetErrorLevel 2
        Abort
    ${EndIf}
    ClearErrors
    ${GetOptions} $0 "/CONFIG=" $ConfigSrc
    ${If} ${Errors}
        StrCpy $ConfigSrc ""
    ${ElseIfNot} ${FileExists} $ConfigSrc
        MessageBox MB_ICONSTOP "/CONFIG: the file '$ConfigSrc' does not exist (give its full path)." /SD IDOK
        SetErrorLevel 2
        Abort
    ${EndIf}
FunctionEnd

Section "nlbctl"
    SetShellVarContext all
    SetRegView 64
    StrCpy $DataDir "$APPDATA\nlbctl"

    ; An upgrade: stop the running service so its executable can be replaced.
    nsExec::ExecToStack '"$SYSDIR\sc.exe" query ${SERVICE}'
    Pop $0
    Pop $1
    StrCpy $R9 $0  ; 0: the service is already registered
    ${If} $R9 == 0
        DetailPrint "stopping the ${SERVICE} service for the upgrade"
        !insertmacro STOP_SERVICE
        Call WaitStopped
    ${EndIf}

    SetOutPath $INSTDIR
    SetOverwrite on
    File "${STAGE}/nlbctld.exe"
    File "${STAGE}/nlbctl.exe"
    File "${STAGE}/nlbctld.example.ini"
    File "${STAGE}/nlbctl.mof"
    File "${STAGE}/nlbctl-remove.mof"
    SetOutPath "$INSTDIR\templates"
    File "${STAGE}/nlbctld-agent.ini"
    File "${STAGE}/nlbctld-coordinator.ini"
    SetOutPath $INSTDIR
    WriteUninstaller "$INSTDIR\uninstall.exe"

    ; The config is written once and never replaced: an upgrade or a second
    ; run keeps the administrator's file, whatever /ROLE or /CONFIG say.
    CreateDirectory $DataDir
    ${If} ${FileExists} "$DataDir\nlbctld.ini"
        DetailPrint "keeping the existing configuration $DataDir\nlbctld.ini"
    ${ElseIf} $ConfigSrc != ""
        ClearErrors
        CopyFiles /SILENT $ConfigSrc "$DataDir\nlbctld.ini"
        ${If} ${Errors}
            DetailPrint "cannot copy $ConfigSrc to $DataDir\nlbctld.ini"
            SetErrorLevel 2
            Abort
        ${EndIf}
        DetailPrint "configuration copied from $ConfigSrc"
    ${Else}
        CopyFiles /SILENT "$INSTDIR\templates\nlbctld-$Role.ini" "$DataDir\nlbctld.ini"
        DetailPrint "configuration template for the $Role role written to $DataDir\nlbctld.ini"
    ${EndIf}

    ; The service. An existing registration (an upgrade) is kept as it is:
    ; same path, and the administrator may have changed its account or
    ; start type. The config path is explicit: the SCM's %ProgramData% and
    ; ours need not agree (under Wine they do not).
    ${If} $R9 != 0
        nsExec::ExecToLog `"$SYSDIR\sc.exe" create ${SERVICE} binpath= "\"$INSTDIR\nlbctld.exe\" --config \"$DataDir\nlbctld.ini\"" start= auto DisplayName= "nlbctl NLB high-availability controller"`
        Pop $0
        ${If} $0 != 0
            DetailPrint "cannot register the ${SERVICE} service (sc create: $0)"
            SetErrorLevel 2
            Abort
        ${EndIf}
    ${EndIf}
    nsExec::ExecToLog `"$SYSDIR\sc.exe" description ${SERVICE} "Keeps exactly one node of an active/backup pair serving a Windows NLB cluster port (role and settings in %ProgramData%\nlbctl\nlbctld.ini)."`
    Pop $0
    ; Recovery: restart after 1 s on every failure, count reset after a day.
    ; A dead agent cannot fence, so the restart must be quick.
    nsExec::ExecToLog '"$SYSDIR\sc.exe" failure ${SERVICE} reset= 86400 actions= restart/1000/restart/1000/restart/1000'
    Pop $0
    ${If} $0 != 0
        DetailPrint "WARNING: cannot set the service's recovery actions (sc failure: $0)"
    ${EndIf}

    ; The Event Log source: the message table is inside nlbctld.exe.
    WriteRegExpandStr HKLM "${EVENTLOG_KEY}" "EventMessageFile" "$INSTDIR\nlbctld.exe"
    WriteRegDWORD HKLM "${EVENTLOG_KEY}" "TypesSupported" 7

    ; PATH, for scripts: nlbctld edits it whole (NSIS strings stop at 1023
    ; characters, and a server's PATH is often longer).
    nsExec::ExecToLog '"$INSTDIR\nlbctld.exe" --path-add "$INSTDIR"'
    Pop $0
    ${If} $0 != 0
        DetailPrint "WARNING: $INSTDIR could not be put on PATH (see above)"
    ${EndIf}

    ; The WMI status class (mof/README.md). Never fatal: nlbctld works
    ; without it and logs one warning (event 19). mofcomp may be missing
    ; (Server Core without WMI tools) or, like Wine's, compile nothing while
    ; exiting 0, so nlbctld checks the result itself.
    ${If} ${FileExists} "$SYSDIR\wbem\mofcomp.exe"
        nsExec::ExecToLog '"$SYSDIR\wbem\mofcomp.exe" "$INSTDIR\nlbctl.mof"'
        Pop $0
    ${Else}
        StrCpy $0 "mofcomp.exe not found"
    ${EndIf}
    nsExec::ExecToLog '"$INSTDIR\nlbctld.exe" --wmi-check'
    Pop $1
    ${If} $1 != 0
        DetailPrint "WARNING: the WMI status class root\nlbctl Nlbctl_Status is not available (mofcomp: $0; see above); nlbctld works without it"
    ${EndIf}

    ; Programs and Features.
    WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "nlbctl"
    WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
    WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "nlbctl project"
    WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
    WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
    WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
    WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
    WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1

    ; Start only a config that passes the check: a fresh template has no key
    ; yet, and a service that stops at once helps nobody.
    nsExec::ExecToLog '"$INSTDIR\nlbctld.exe" --check --config "$DataDir\nlbctld.ini"'
    Pop $0
    ${If} $0 == 0
        nsExec::ExecToLog '"$SYSDIR\net.exe" start ${SERVICE}'
        Pop $0
    ${Else}
        DetailPrint "the ${SERVICE} service is not started: edit $DataDir\nlbctld.ini (see above), then run: net start ${SERVICE}"
    ${EndIf}
SectionEnd

; ---- uninstall ------------------------------------------------------------------

Function un.onInit
    SetShellVarContext all
    SetRegView 64
    ${GetParameters} $0
    ClearErrors
    ${GetOptions} $0 "/PURGE" $1
    ${If} ${Errors}
        StrCpy $Purge 0
    ${Else}
        StrCpy $Purge 1
    ${EndIf}
FunctionEnd

Section "Uninstall"
    SetShellVarContext all
    SetRegView 64
    StrCpy $DataDir "$APPDATA\nlbctl"

    !insertmacro STOP_SERVICE
    Call un.WaitStopped
    nsExec::ExecToLog '"$SYSDIR\sc.exe" delete ${SERVICE}'
    Pop $0

    nsExec::ExecToLog '"$INSTDIR\nlbctld.exe" --path-remove "$INSTDIR"'
    Pop $0
    ; The WMI namespace root\nlbctl, with the class and nlbctld's instances.
    ${If} ${FileExists} "$SYSDIR\wbem\mofcomp.exe"
        nsExec::ExecToLog '"$SYSDIR\wbem\mofcomp.exe" "$INSTDIR\nlbctl-remove.mof"'
        Pop $0
    ${EndIf}
    Delete "$INSTDIR\nlbctl.mof"
    Delete "$INSTDIR\nlbctl-remove.mof"
    Delete "$INSTDIR\nlbctld.exe"
    Delete "$INSTDIR\nlbctl.exe"
    Delete "$INSTDIR\nlbctld.example.ini"
    Delete "$INSTDIR\templates\nlbctld-agent.ini"
    Delete "$INSTDIR\templates\nlbctld-coordinator.ini"
    RMDir "$INSTDIR\templates"
    Delete "$INSTDIR\uninstall.exe"
    RMDir "$INSTDIR"

    DeleteRegKey HKLM "${EVENTLOG_KEY}"
    DeleteRegKey HKLM "${UNINST_KEY}"

    ${If} $Purge == 1
        RMDir /r $DataDir
        DetailPrint "removed $DataDir (configuration, log and state)"
    ${Else}
        DetailPrint "kept $DataDir (configuration, log and state); uninstall with /PURGE to remove it"
    ${EndIf}
SectionEnd
