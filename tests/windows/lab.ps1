<#
.SYNOPSIS
    Lab check, on a real Windows host, that nlbctld's control pipe refuses
    the clients it must refuse. Wine cannot show this (it does not enforce
    pipe DACLs or FILE_FLAG_FIRST_PIPE_INSTANCE, and every Wine process is an
    administrator); tests/win/test_pipe_security.c checks under Wine what
    Wine can show: the exact DACL set on the pipe and the decision table.

.DESCRIPTION
    What it does:
      - starts `nlbctld --console --config <Config>` as the current
        (elevated) administrator, with its output in -WorkDir;
      - runs nlbctl as two non-administrator accounts through
        Start-Process -Credential (a fresh logon, so group membership is
        current), and as the administrator once;
      - starts a second `nlbctld --console` with the same config while the
        first one runs;
      - stops the first nlbctld with Stop-Process (a kill, not a graceful
        stop: fine for a lab, do not point this at a production node);
      - prints PASS / FAIL per check and exits 0 only if every check passed.

    The checks:
      1. nlbctld starts and creates \\.\pipe\<pipe>.
      2. An elevated administrator gets `nlbctl status` (exit 0): the pipe
         works, so the refusals below mean something.
      3. A non-administrator outside the status group cannot open the pipe:
         `nlbctl status` and `nlbctl switchover` both exit 6 and say
         "access denied" (the pipe's DACL refuses the open).
      4. A member of the status group gets `nlbctl status` (exit 0) but
         `nlbctl switchover` is refused by the service itself: exit 6 and
         "access denied" in the message (nlbctld checked the client's token
         before handling the request; nothing was changed).
      5. A second nlbctld with the same pipe name fails to start (non-zero
         exit, "cannot create pipe ... (5)" - access denied - in its output)
         because the first owns the pipe's first instance
         (FILE_FLAG_FIRST_PIPE_INSTANCE), and the first still answers
         afterwards.

    What it does NOT check: remote clients (PIPE_REJECT_REMOTE_CLIENTS needs
    a second host), an administrator running nlbctl without elevation (a UAC
    filtered token counts as not an administrator, like check 3 or 4
    depending on the status group), or anything about NLB itself.

    It installs nothing and changes nothing on the host: it creates no user,
    group or service and edits no file but its own output under -WorkDir.
    Before you run it, prepare by hand:
      - an elevated PowerShell (Windows PowerShell 5.1 or PowerShell 7);
      - nlbctld.exe and nlbctl.exe in a folder the two test accounts can
        read and execute (for example C:\nlbctl-lab, not your profile);
      - a config that nlbctld accepts (`nlbctld --check --config ...`),
        whose [security] status_group names a local or domain group; a
        coordinator config makes check 4 the most telling (an agent answers
        switchover with "ask the coordinator" once past the access check,
        which is why check 4 also looks for "access denied" in the text);
      - a non-administrator account that is NOT in that group (-Outsider)
        and one that IS in it (-Reader);
      - no nlbctld already running with the config's pipe name (stop the
        service first, or use a config with another `pipe =`).
    If the lock were broken, the two switchover attempts would really switch
    over the pair the config names: run this against a lab pair only.

.PARAMETER Nlbctld
    Path of nlbctld.exe.
.PARAMETER Nlbctl
    Path of nlbctl.exe.
.PARAMETER Config
    Path of the nlbctld config file to run with.
.PARAMETER Outsider
    Credential of a non-administrator who is not in the status group.
.PARAMETER Reader
    Credential of a non-administrator who is a member of the status group.
.PARAMETER WorkDir
    Where the processes' output goes. Default: a new folder under %TEMP%.
.PARAMETER TimeoutSeconds
    Longest wait for any one step (nlbctld start, one nlbctl run). Default 30.

.EXAMPLE
    $out = Get-Credential -Message 'non-admin, NOT in the status group'
    $rdr = Get-Credential -Message 'non-admin, member of the status group'
    .\lab.ps1 -Nlbctld C:\nlbctl-lab\nlbctld.exe -Nlbctl C:\nlbctl-lab\nlbctl.exe `
              -Config C:\nlbctl-lab\coordinator.ini -Outsider $out -Reader $rdr
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Nlbctld,
    [Parameter(Mandatory)] [string] $Nlbctl,
    [Parameter(Mandatory)] [string] $Config,
    [Parameter(Mandatory)] [pscredential] $Outsider,
    [Parameter(Mandatory)] [pscredential] $Reader,
    [string] $WorkDir = (Join-Path $env:TEMP ("nlbctl-lab-" + (Get-Date -Format 'yyyyMMdd-HHmmss'))),
    [int] $TimeoutSeconds = 30
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# nlbctl's documented exit codes (nlbctl --help).
$EXIT_OK = 0
$EXIT_REFUSED = 4
$EXIT_DENIED = 6
$ADMINISTRATORS_SID = 'S-1-5-32-544'

$results = New-Object System.Collections.Generic.List[object]

function Write-Check([string] $Name, [bool] $Passed, [string] $Detail) {
    $results.Add([pscustomobject]@{ Check = $Name; Result = $(if ($Passed) { 'PASS' } else { 'FAIL' }); Detail = $Detail })
    $colour = if ($Passed) { 'Green' } else { 'Red' }
    Write-Host ("{0}  {1}" -f $(if ($Passed) { 'PASS' } else { 'FAIL' }), $Name) -ForegroundColor $colour
    if ($Detail) { Write-Host "      $Detail" }
}

function Stop-Lab([string] $Why) {
    Write-Host "cannot run the lab check: $Why" -ForegroundColor Red
    exit 2
}

# Runs Exe with Arguments, as Credential if given, with a time limit.
# Returns exit code (or $null on time-out) and stdout / stderr text.
$script:runCount = 0
function Invoke-Logged([string] $Exe, [string[]] $Arguments, [pscredential] $Credential, [string] $Tag) {
    $script:runCount++
    $base = Join-Path $WorkDir ('{0:d2}-{1}' -f $script:runCount, $Tag)
    $start = @{
        FilePath               = $Exe
        ArgumentList           = $Arguments
        RedirectStandardOutput = "$base.out"
        RedirectStandardError  = "$base.err"
        WorkingDirectory       = (Split-Path -Parent $Exe)
        NoNewWindow            = $true
        PassThru               = $true
    }
    if ($Credential) { $start.Credential = $Credential }
    $p = Start-Process @start
    $null = $p.Handle # keep the handle, or ExitCode may read as empty later
    $code = $null
    if ($p.WaitForExit($TimeoutSeconds * 1000)) {
        $code = $p.ExitCode
    } else {
        Stop-Process -Id $p.Id -Force -ErrorAction SilentlyContinue
    }
    [pscustomobject]@{
        ExitCode = $code
        Out      = [string](Get-Content -Raw -LiteralPath "$base.out" -ErrorAction SilentlyContinue)
        Err      = [string](Get-Content -Raw -LiteralPath "$base.err" -ErrorAction SilentlyContinue)
        Files    = "$base.out, $base.err"
    }
}

# Lists pipe names without connecting to any (opening one would take an instance).
function Test-PipeExists([string] $Name) {
    try {
        $names = [System.IO.Directory]::GetFiles('\\.\pipe\')
    } catch {
        # Windows PowerShell's .NET refuses some other programs' pipe names.
        $names = @(Get-ChildItem -Path '\\.\pipe\' -Name | ForEach-Object { "\\.\pipe\$_" })
    }
    $names -contains "\\.\pipe\$Name"
}

# The group SIDs in a fresh logon of Credential, as whoami sees them.
function Get-GroupSids([pscredential] $Credential, [string] $Tag) {
    $whoami = Join-Path $env:SystemRoot 'System32\whoami.exe'
    $r = Invoke-Logged $whoami @('/groups', '/fo', 'csv', '/nh') $Credential $Tag
    if ($r.ExitCode -ne 0) {
        Stop-Lab "cannot run whoami as $($Credential.UserName) (exit $($r.ExitCode)): $($r.Err)"
    }
    # Columns: name, type, SID, attributes.
    @($r.Out -split "`r?`n" | Where-Object { $_ } | ForEach-Object { ($_ | ConvertFrom-Csv -Header N, T, S, A).S })
}

function Describe([object] $r) {
    $code = if ($null -eq $r.ExitCode) { 'timed out' } else { "exit $($r.ExitCode)" }
    $text = ($r.Err + ' ' + $r.Out).Trim() -replace '\s+', ' '
    if ($text.Length -gt 300) { $text = $text.Substring(0, 300) + '...' }
    "$code; $text"
}

# ---- preflight: stop with a reason rather than report a misleading FAIL ----

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Stop-Lab 'run this from an elevated PowerShell (Run as administrator)'
}
foreach ($f in @($Nlbctld, $Nlbctl, $Config)) {
    if (-not (Test-Path -LiteralPath $f -PathType Leaf)) { Stop-Lab "no such file: $f" }
}
$Nlbctld = (Resolve-Path -LiteralPath $Nlbctld).Path
$Nlbctl = (Resolve-Path -LiteralPath $Nlbctl).Path
$Config = (Resolve-Path -LiteralPath $Config).Path
New-Item -ItemType Directory -Force -Path $WorkDir | Out-Null

# The pipe name and status group, read the way nlbctld reads them
# (key = value, optional quotes, ; or # comments on their own line).
function Get-ConfigValue([string] $Key) {
    foreach ($line in Get-Content -LiteralPath $Config) {
        if ($line -match "^\s*$Key\s*=\s*(.*?)\s*$") {
            return ($Matches[1] -replace '^"(.*)"$', '$1')
        }
    }
    return $null
}
$pipe = Get-ConfigValue 'pipe'
if (-not $pipe) { $pipe = 'nlbctld' }
$group = Get-ConfigValue 'status_group'
if (-not $group) { Stop-Lab "$Config sets no status_group; checks 3 and 4 need one" }
try {
    $groupSid = (New-Object Security.Principal.NTAccount($group)).Translate([Security.Principal.SecurityIdentifier]).Value
} catch {
    Stop-Lab "status_group '$group' does not resolve on this host: $($_.Exception.Message)"
}

$check = Invoke-Logged $Nlbctld @('--check', '--config', "`"$Config`"") $null 'nlbctld-check'
if ($check.ExitCode -ne 0) { Stop-Lab "nlbctld refuses the config: $(Describe $check)" }
if (Test-PipeExists $pipe) {
    Stop-Lab "\\.\pipe\$pipe exists already: stop the nlbctld service (or whatever owns it) first"
}

$outsiderSids = Get-GroupSids $Outsider 'whoami-outsider'
$readerSids = Get-GroupSids $Reader 'whoami-reader'
if ($outsiderSids -contains $ADMINISTRATORS_SID) { Stop-Lab "$($Outsider.UserName) is an administrator; use a standard user" }
if ($readerSids -contains $ADMINISTRATORS_SID) { Stop-Lab "$($Reader.UserName) is an administrator; use a standard user" }
if ($outsiderSids -contains $groupSid) { Stop-Lab "$($Outsider.UserName) is in status_group '$group'; use one who is not" }
if ($readerSids -notcontains $groupSid) { Stop-Lab "$($Reader.UserName) is not in status_group '$group' ($groupSid)" }

Write-Host "pipe \\.\pipe\$pipe, status_group '$group' ($groupSid), output in $WorkDir"

# ---- 1. start nlbctld as the administrator ----

$daemonOut = Join-Path $WorkDir 'nlbctld-first.out'
$daemonErr = Join-Path $WorkDir 'nlbctld-first.err'
$daemon = Start-Process -FilePath $Nlbctld -ArgumentList @('--console', '--config', "`"$Config`"") `
    -RedirectStandardOutput $daemonOut -RedirectStandardError $daemonErr `
    -WorkingDirectory (Split-Path -Parent $Nlbctld) -NoNewWindow -PassThru
$null = $daemon.Handle
$deadline = (Get-Date).AddSeconds($TimeoutSeconds)
while (-not (Test-PipeExists $pipe) -and -not $daemon.HasExited -and (Get-Date) -lt $deadline) {
    Start-Sleep -Milliseconds 200
}
$started = (Test-PipeExists $pipe) -and -not $daemon.HasExited
Write-Check '1. nlbctld starts and creates its pipe' $started `
    $(if ($started) { "pid $($daemon.Id)" } else { "see $daemonErr" })
if (-not $started) {
    if (-not $daemon.HasExited) { Stop-Process -Id $daemon.Id -Force }
    exit 1
}

try {
    $pipeArgs = @('--pipe', $pipe)

    # ---- 2. the administrator gets in ----
    $r = Invoke-Logged $Nlbctl ($pipeArgs + 'status') $null 'admin-status'
    Write-Check '2. administrator: nlbctl status succeeds' ($r.ExitCode -eq $EXIT_OK) (Describe $r)

    # ---- 3. outside the status group: the DACL refuses the open ----
    foreach ($name in @('status', 'switchover')) {
        $cmd = if ($name -eq 'status') { @('status') } else { @('switchover', '--timeout', '5') }
        $r = Invoke-Logged $Nlbctl ($pipeArgs + $cmd) $Outsider "outsider-$name"
        $ok = $r.ExitCode -eq $EXIT_DENIED -and $r.Err -match 'access denied'
        Write-Check "3. non-admin outside the group: nlbctl $name refused (exit 6, access denied)" $ok (Describe $r)
    }

    # ---- 4. a status group member: reads, cannot change ----
    $r = Invoke-Logged $Nlbctl ($pipeArgs + 'status') $Reader 'reader-status'
    $ok = $r.ExitCode -eq $EXIT_OK
    $hint = ''
    if ($r.ExitCode -eq $EXIT_DENIED) {
        $hint = ' -- the pipe refused the open: is status_group passed to the pipe by this ' +
                'nlbctld, and does nlbctl open the pipe asking only for read and write of ' +
                'data (the group is granted FILE_GENERIC_READ|FILE_WRITE_DATA|FILE_WRITE_ATTRIBUTES, 0x12018b, ' +
                'not GENERIC_WRITE)?'
    }
    Write-Check '4. status group member: nlbctl status succeeds' $ok ((Describe $r) + $hint)

    $r = Invoke-Logged $Nlbctl ($pipeArgs + @('switchover', '--timeout', '5')) $Reader 'reader-switchover'
    $ok = $r.ExitCode -eq $EXIT_DENIED -and $r.Err -match 'access denied'
    Write-Check '4. status group member: nlbctl switchover refused by nlbctld (exit 6, access denied)' $ok (Describe $r)

    # ---- 5. no second owner of the pipe name ----
    # CreateNamedPipe with FILE_FLAG_FIRST_PIPE_INSTANCE on a name that exists
    # fails with ERROR_ACCESS_DENIED, "(5)" at the end of nlbctld's Win32
    # text. "(231)" (all instances busy) would also stop it, but would not
    # show the flag at work, so it counts as FAIL here.
    $r = Invoke-Logged $Nlbctld @('--console', '--config', "`"$Config`"") $null 'nlbctld-second'
    $text = $r.Err + $r.Out
    $ok = $null -ne $r.ExitCode -and $r.ExitCode -ne 0 -and $text -match 'cannot create pipe' -and $text -match '\(5\)'
    Write-Check '5. a second nlbctld with the same pipe name fails to start' $ok (Describe $r)
    $r = Invoke-Logged $Nlbctl ($pipeArgs + 'status') $null 'admin-status-after'
    $ok = $r.ExitCode -eq $EXIT_OK -and -not $daemon.HasExited
    Write-Check '5. the first nlbctld still owns the pipe and answers' $ok (Describe $r)
} finally {
    if (-not $daemon.HasExited) { Stop-Process -Id $daemon.Id -Force }
}

$failed = @($results | Where-Object { $_.Result -eq 'FAIL' }).Count
Write-Host ''
$results | Format-Table -AutoSize Result, Check | Out-String | Write-Host
Write-Host "$($results.Count - $failed) of $($results.Count) checks passed; output in $WorkDir"
exit $(if ($failed -eq 0) { 0 } else { 1 })
