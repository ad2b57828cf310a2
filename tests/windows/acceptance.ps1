<#
.SYNOPSIS
    Acceptance test of nlbctl on a real two-node Windows NLB lab: installs
    nlbctld on both nodes and on a witness, then runs the seed's workflows
    W1 (election, switchover), W2 (application failure), W3 (host
    disconnected), optionally W4/W5 (SIP NIC unplugged, with the
    coordinator's active SIP monitoring), and compares
    `nlbctl port query` with Get-NlbClusterPortRule. Not run in CI.

.DESCRIPTION
    Run it from an elevated Windows PowerShell 5.1 (or PowerShell 7) on a
    third host, the witness, which becomes the coordinator. It reaches the
    two NLB nodes through PowerShell remoting (New-PSSession), so WinRM must
    work from the witness to both nodes with an account that is an
    administrator on all three hosts.

    THIS SCRIPT REALLY CHANGES THE LAB: it installs and starts services,
    opens firewall ports, enables and disables the NLB port rule that holds
    -Port on both nodes (traffic to VIP:Port moves between them and stops
    briefly), stops the application service, and DISABLES NETWORK ADAPTERS
    on the primary for -CutSeconds (a scheduled task on that node turns them
    back on, with a second task as a safety net). Run it on a lab cluster
    only, with console access to the nodes (hypervisor or iLO/iDRAC) in case
    an adapter stays down.

    Steps (each printed as PASS / FAIL / INFO / BLOCKED / SKIPPED with the
    evidence that decided it; everything is also in a transcript):
      0  preflight: NLB feature and module on both nodes, the cluster and the
         port rule holding -Port present and identical on both, remoting,
         addresses, which adapters carry nlbctl's links, clock offsets; the
         NLB port state found at start is recorded (for step 8).
      1  install: binaries to C:\Program Files\nlbctl (or setup.exe /S, or
         msiexec /i x.msi /qn when PackageDir holds an installer), the config
         %ProgramData%\nlbctl\nlbctld.ini on every host, the service with
         restart on failure, firewall rules (7400 on the witness, 7401 on the
         nodes), the stand-in application if -AppService is not given; start
         the coordinator, then the agents; check TCP 7400/7401 between the
         hosts with Test-NetConnection (only now does anything listen there);
         with -Node1SipAddress/-Node2SipAddress, the coordinator's SIP
         probes get answers from both nodes.
      2  W1 election: the coordinator elects node1 and stays stable; the port
         is enabled on node1 and disabled on node2 per Get-NlbClusterPortRule.
      3  W1 switchover: `nlbctl switchover` exits 0; node2 enabled, node1
         disabled; no moment is seen with both enabled; then switch back.
      4  W2: Stop-Service of the application on the primary; the backup's
         port is enabled within 2 s; Start-Service again; no failback for 10 s.
      5  W3: the primary's link adapters are disabled for -CutSeconds; the
         backup's port is enabled within 4 s of the cut; the cut node fenced
         itself (its own `nlbctl history`); after it returns exactly one node
         has the port enabled.
      6  W4/W5 (only with -SipNicAlias, -Node1SipAddress and
         -Node2SipAddress; otherwise SKIPPED, never passed): the coordinator
         probes each node's own SIP address ([sip_monitor] in its config);
         the SIP adapter of the primary is disabled for -SipCutSeconds. W4:
         the backup's port is enabled per Get-NlbClusterPortRule within
         fall x interval_ms + timeout_ms + -SipMarginMs of the cut, the
         coordinator made it primary, and its `nlbctl status --json` showed
         the cut node's sip_probe "not answering". W5: after the adapter
         returns, the old primary's rule reads disabled (a stale enabled rule
         repaired by reconcile), its probes answer again, there is no
         failback for 10 s (preempt = no) and no second switchover (one
         epoch for the whole event).
      7  `nlbctl port query <vip>:<port>` on each node agrees with
         Get-NlbClusterPortRule.
      8  cleanup (only with -Cleanup or -CleanupOnly): stop and delete the
         services, remove firewall rules, files and scheduled tasks, and put
         the NLB port rule back as step 0 first found it.

    How the port state is read (the field mapping): on each node, locally
    through remoting,
        Get-NlbClusterNode (the local host's node object)
          | Get-NlbClusterPortRule -Port <Port>
    and the PortState property of the rule whose VIP is -Vip (else the
    all-VIPs rule). Microsoft's documentation shows PortState on exactly
    these per-node objects (Get-NlbClusterPortRule, example 3); the "State"
    column of the cluster-wide table view is a display label whose property
    name is not documented, and -HostName only names the host to connect to.
    If PortState is absent the script falls back to State and says so. Every
    reading is cross-checked against WMI root\MicrosoftNLB
    MicrosoftNLB_PortRuleEx.PortState (1 enabled, 2 disabled, 3 draining),
    which describes the local host only; a disagreement is a FAIL that
    points at this mapping, not at nlbctl. See tests/windows/README.md.

    Exit code: the number of steps that FAILED or were BLOCKED (could not
    run because the preflight or the install failed). 0 = every step that
    ran passed (INFO and SKIPPED steps do not count).

.PARAMETER Node1
    Computer name of the first NLB node (remoting target). It is the
    preferred node: step 2 expects it to be elected.
.PARAMETER Node2
    Computer name of the second NLB node.
.PARAMETER ClusterIp
    The NLB cluster's IP address (Get-NlbCluster IPAddress), IPv4.
.PARAMETER Vip
    The virtual IP whose port rule nlbctl drives (may equal -ClusterIp), IPv4.
.PARAMETER Port
    The port inside the port rule to drive. Default 5060.
.PARAMETER PackageDir
    Folder on the witness with nlbctld.exe and nlbctl.exe; also
    standin_app.exe (or tests\apps\standin_app.exe) unless -AppService is
    given; optionally setup.exe or one .msi, which is then used to install
    instead of copying (an .msi wins over setup.exe).
.PARAMETER Key
    The pre-shared key, 64 hex digits. Default: a new random key, printed.
.PARAMETER AppService
    Service name of the application to watch on both nodes (for example the
    SIP server). It must exist and run on both nodes. Default: none, and a
    stand-in (standin_app.exe --service) is registered as service
    'NlbctlStandin' on both nodes.
.PARAMETER Credential
    Credential for remoting to the nodes. Default: the current user.
.PARAMETER SipNicAlias
    InterfaceAlias of the SIP (NLB cluster) adapter on the nodes, same name
    on both. Step 6 disables it on the primary; step 6 runs only with it and
    with -Node1SipAddress/-Node2SipAddress. It must not carry nlbctl's own
    links.
.PARAMETER Node1SipAddress
    host:port of node 1's own SIP service address (an address of its SIP
    adapter, not the VIP), for example 192.0.2.11:5060. With
    -Node2SipAddress it writes [sip_monitor] into the COORDINATOR's config
    (agents ignore that section), so the coordinator sends SIP OPTIONS over
    UDP there every -SipIntervalMs. Something must answer them: the
    application (-AppService) must be a SIP server listening there (the
    stand-in is not), with UDP open from the witness; step 1 fails
    otherwise, since a node that does not answer cannot be primary.
.PARAMETER Node2SipAddress
    As -Node1SipAddress, for node 2.
.PARAMETER SipVip
    Optional host:port of the VIP's SIP address, written as [sip_monitor]
    vip: probed too, its verdict only logged by nlbctld.
.PARAMETER SipIntervalMs
    [sip_monitor] interval_ms written to the coordinator's config. Default
    1000 (nlbctld's default). 100 to 60000.
.PARAMETER SipTimeoutMs
    [sip_monitor] timeout_ms; less than -SipIntervalMs. Default 500. 50 to
    60000.
.PARAMETER SipRise
    [sip_monitor] rise. Default 2. 1 to 100.
.PARAMETER SipFall
    [sip_monitor] fall. Default 3. 1 to 100.
.PARAMETER SipMarginMs
    W4 bound, on top of the probes' detection time: the backup's port must
    read enabled within SipFall x SipIntervalMs + SipTimeoutMs + this of
    the cut (the old primary's disable, the backup's enable, one reading).
    Raise it with a larger nlb_timeout_ms in -TimingIni. Default 2000.
.PARAMETER TimingIni
    Lines written under [timing] in all three configs (for example
    'nlb_timeout_ms = 900', 'miss_count = 7'). Default: nlbctld's defaults.
    The W2, W3 and W4 bounds do not change with it.
.PARAMETER AppFailureBoundMs
    W2 bound: application stopped -> backup's port enabled. Default 2000.
.PARAMETER HostLossBoundMs
    W3 bound: link cut -> backup's port enabled. Default 4000.
.PARAMETER Node1Address
    IPv4 address of node 1 that the witness and node 2 use for nlbctl's
    links. Default: resolved from -Node1 by DNS on the witness.
.PARAMETER Node2Address
    As -Node1Address, for node 2.
.PARAMETER WitnessAddress
    IPv4 address of the witness that the agents connect to (coordinator
    port 7400). Default: the witness's source address towards node 1.
.PARAMETER CutSeconds
    How long W3 keeps the primary's link adapters disabled. Default 10.
.PARAMETER SipCutSeconds
    How long step 6 keeps the SIP adapter disabled. Default 20; it must be
    longer than the W4 bound (see -SipMarginMs) plus 2 s.
.PARAMETER ResultsDir
    Where the transcript, results.json and collected logs go. Default:
    Documents\nlbctl-acceptance\<date-time> of the current user.
.PARAMETER Cleanup
    After the tests, remove everything this script installed (step 8).
.PARAMETER CleanupOnly
    Run the preflight and the cleanup only (after an earlier run without
    -Cleanup).
.PARAMETER Force
    Do not ask for confirmation before changing the lab.

.EXAMPLE
    .\acceptance.ps1 -Node1 WEB1 -Node2 WEB2 -ClusterIp 192.0.2.10 -Vip 192.0.2.10 `
        -PackageDir C:\nlbctl-pkg -Cleanup

.EXAMPLE
    $cred = Get-Credential LAB\nlbadmin
    .\acceptance.ps1 -Node1 WEB1 -Node2 WEB2 -ClusterIp 192.0.2.10 -Vip 192.0.2.20 -Port 5060 `
        -PackageDir C:\nlbctl-pkg -AppService SipServer -Credential $cred -SipNicAlias 'SIP' `
        -Node1SipAddress 192.0.2.11:5060 -Node2SipAddress 192.0.2.12:5060 `
        -Key 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff

.EXAMPLE
    .\acceptance.ps1 -Node1 WEB1 -Node2 WEB2 -ClusterIp 192.0.2.10 -Vip 192.0.2.10 `
        -PackageDir C:\nlbctl-pkg -CleanupOnly -Force
#>
#Requires -Version 5.1
#Requires -RunAsAdministrator
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Node1,
    [Parameter(Mandatory)] [string] $Node2,
    [Parameter(Mandatory)]
    [ValidatePattern('^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$')]
    [string] $ClusterIp,
    [Parameter(Mandatory)]
    [ValidatePattern('^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$')]
    [string] $Vip,
    [ValidateRange(1, 65535)] [int] $Port = 5060,
    [Parameter(Mandatory)] [string] $PackageDir,
    [ValidatePattern('^[0-9A-Fa-f]{64}$')] [string] $Key,
    [ValidatePattern('^[^/\\]{1,256}$')] [string] $AppService,
    [pscredential] $Credential,
    [string] $SipNicAlias,
    [ValidatePattern('^[A-Za-z0-9][A-Za-z0-9.-]*:[0-9]{1,5}$')] [string] $Node1SipAddress,
    [ValidatePattern('^[A-Za-z0-9][A-Za-z0-9.-]*:[0-9]{1,5}$')] [string] $Node2SipAddress,
    [ValidatePattern('^[A-Za-z0-9][A-Za-z0-9.-]*:[0-9]{1,5}$')] [string] $SipVip,
    [ValidateRange(100, 60000)] [int] $SipIntervalMs = 1000,
    [ValidateRange(50, 60000)] [int] $SipTimeoutMs = 500,
    [ValidateRange(1, 100)] [int] $SipRise = 2,
    [ValidateRange(1, 100)] [int] $SipFall = 3,
    [ValidateRange(0, 600000)] [int] $SipMarginMs = 2000,
    [string[]] $TimingIni = @(),
    [ValidateRange(100, 600000)] [int] $AppFailureBoundMs = 2000,
    [ValidateRange(100, 600000)] [int] $HostLossBoundMs = 4000,
    [string] $Node1Address,
    [string] $Node2Address,
    [string] $WitnessAddress,
    [ValidateRange(5, 300)] [int] $CutSeconds = 10,
    [ValidateRange(5, 600)] [int] $SipCutSeconds = 20,
    [string] $ResultsDir,
    [switch] $Cleanup,
    [switch] $CleanupOnly,
    [switch] $Force
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

# ---- fixed names and numbers -------------------------------------------------

$COORD_PORT = 7400            # [coordinator] listen
$PEER_PORT = 7401             # [agent] peer_listen
$SERVICE = 'nlbctld'
$STANDIN_SERVICE = 'NlbctlStandin'
$PAIR_NAME = 'acceptance'
$CUT_DELAY_S = 3              # the cut task waits this long, so the remoting call that starts it returns first
$ELECTION_WAIT_S = 60
$STABLE_WAIT_S = 60
$RETURN_WAIT_S = 180          # a cut node must answer remoting again within this, after its cut ends
$ACC_DIR_NAME = 'nlbctl-acceptance'   # under %ProgramData% on every host: staging, markers, cut logs

# ---- code that runs on the hosts (shipped into every remoting session) -------
#
# Everything here is defined as global functions in the remote runspace, so
# later Invoke-Command calls on the same session can use it. The witness
# loads it too (for Invoke-AccNative and the install block).

$NodeLib = {
    # Runs a program with a time limit; returns exit code (null if killed on
    # time-out), stdout and stderr. Not `& exe 2>&1`: with
    # $ErrorActionPreference = 'Stop', Windows PowerShell turns the first
    # stderr line of a native program into a terminating error.
    function global:ConvertTo-AccArg {
        param([AllowEmptyString()] [string] $Text)
        # One argument, quoted the way the C runtime's argv parser reads it.
        if ($Text.Length -gt 0 -and $Text -notmatch '[\s"]') { return $Text }
        $sb = New-Object System.Text.StringBuilder
        [void] $sb.Append([char] '"')
        $slashes = 0
        foreach ($ch in $Text.ToCharArray()) {
            if ($ch -eq [char] '\') { $slashes++; continue }
            if ($ch -eq [char] '"') {
                [void] $sb.Append([char] '\', 2 * $slashes + 1)
            } elseif ($slashes -gt 0) {
                [void] $sb.Append([char] '\', $slashes)
            }
            [void] $sb.Append($ch)
            $slashes = 0
        }
        if ($slashes -gt 0) { [void] $sb.Append([char] '\', 2 * $slashes) }
        [void] $sb.Append([char] '"')
        return $sb.ToString()
    }

    function global:Invoke-AccNative {
        param([string] $FilePath, [string[]] $ArgumentList = @(), [int] $TimeoutSec = 60)
        $psi = New-Object System.Diagnostics.ProcessStartInfo
        $psi.FileName = $FilePath
        $psi.Arguments = (@($ArgumentList | ForEach-Object { ConvertTo-AccArg $_ }) -join ' ')
        $psi.UseShellExecute = $false
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.CreateNoWindow = $true
        $start = [DateTime]::UtcNow
        $p = [System.Diagnostics.Process]::Start($psi)
        $outTask = $p.StandardOutput.ReadToEndAsync()
        $errTask = $p.StandardError.ReadToEndAsync()
        $done = $p.WaitForExit($TimeoutSec * 1000)
        if ($done) {
            $p.WaitForExit()
        } else {
            try { $p.Kill() } catch { }
            [void] $p.WaitForExit(5000)
        }
        $end = [DateTime]::UtcNow
        $out = if ($outTask.Wait(5000)) { $outTask.Result } else { '' }
        $err = if ($errTask.Wait(5000)) { $errTask.Result } else { '' }
        [pscustomobject]@{
            Host     = $env:COMPUTERNAME
            Command  = ('{0} {1}' -f (ConvertTo-AccArg $FilePath), $psi.Arguments).Trim()
            ExitCode = $(if ($done) { $p.ExitCode } else { $null })
            TimedOut = (-not $done)
            Out      = [string] $out
            Err      = [string] $err
            T0       = $start.Ticks
            T1       = $end.Ticks
        }
    }

    # First property of InputObject whose name is in Name: @{Name; Value}, or null.
    function global:Get-AccProp {
        param($InputObject, [string[]] $Name)
        if ($null -eq $InputObject) { return $null }
        foreach ($n in $Name) {
            $p = $InputObject.PSObject.Properties[$n]
            if ($null -ne $p) { return [pscustomobject]@{ Name = $p.Name; Value = $p.Value } }
        }
        return $null
    }

    function global:Get-AccValue {
        param($InputObject, [string[]] $Name)
        $p = Get-AccProp $InputObject $Name
        if ($null -eq $p) { return $null }
        return $p.Value
    }

    # NLB's port state, from an enum name or the WMI number, as nlbctl's words.
    function global:ConvertTo-AccPortWord {
        param($Value)
        if ($null -eq $Value) { return 'unknown' }
        $s = ("$Value").Trim().ToLowerInvariant()
        if ($s -match '^(1|enabled?)$') { return 'enabled' }
        if ($s -match '^(2|disabled?)$') { return 'disabled' }
        if ($s -match '^(3|drain|draining)$') { return 'draining' }
        if ($s -match '^(0|not ?found)$') { return 'notfound' }
        return "unrecognised($s)"
    }

    # The local host's cluster (by cluster IP) and its own node object.
    function global:Get-AccNlbContext {
        param([string] $ClusterIp)
        Import-Module NetworkLoadBalancingClusters -ErrorAction Stop -Verbose:$false
        $clusters = @(Get-NlbCluster -ErrorAction Stop)
        $cluster = $null
        foreach ($c in $clusters) {
            if ("$(Get-AccValue $c @('IPAddress', 'ClusterPrimaryIP', 'IP'))" -eq $ClusterIp) { $cluster = $c; break }
        }
        if ($null -eq $cluster) {
            $seen = @($clusters | ForEach-Object { '{0} ({1})' -f (Get-AccValue $_ @('Name')), (Get-AccValue $_ @('IPAddress')) }) -join ', '
            throw "no NLB cluster with IP $ClusterIp on $env:COMPUTERNAME (Get-NlbCluster shows: $seen)"
        }
        $nodes = @($cluster | Get-NlbClusterNode -ErrorAction Stop)
        $me = $env:COMPUTERNAME
        $node = $null
        foreach ($n in $nodes) {
            $name = "$(Get-AccValue $n @('Name', 'NodeName'))"
            if ($name -ieq $me -or $name -ilike "$me.*") { $node = $n; break }
        }
        if ($null -eq $node) {
            # Not found by name: take the node whose host priority (host ID)
            # is the one the local driver reports.
            $info = $null
            try { $info = @(Get-NlbClusterDriverInfo -ErrorAction Stop) | Select-Object -First 1 } catch { $info = $null }
            $hostId = Get-AccValue $info @('HostId', 'HostID')
            if ($null -ne $hostId) {
                foreach ($n in $nodes) {
                    if ("$(Get-AccValue $n @('HostPriority', 'HostID', 'HostId'))" -eq "$hostId") { $node = $n; break }
                }
            }
        }
        if ($null -eq $node) {
            $names = @($nodes | ForEach-Object { "$(Get-AccValue $_ @('Name'))" }) -join ', '
            throw "cannot tell which node of cluster $ClusterIp is this host ($me) among: $names"
        }
        [pscustomobject]@{
            Cluster   = $cluster
            Node      = $node
            Nodes     = $nodes
            NodeName  = "$(Get-AccValue $node @('Name', 'NodeName'))"
            Interface = "$(Get-AccValue $node @('InterfaceName', 'Interface'))"
        }
    }

    # The local host's state of the port rule holding Port for Vip (else the
    # all-VIPs rule): Get-NlbClusterPortRule's PortState (fallback State) on
    # the per-node object, plus the WMI PortState of the local host unless
    # -NoWmi. Returns only flat values: remoting serialises one level deep.
    function global:Read-AccPortRule {
        param($Context, [string] $ClusterIp, [string] $Vip, [int] $Port, [switch] $NoWmi)
        $t0 = [DateTime]::UtcNow
        $rules = @($Context.Node | Get-NlbClusterPortRule -Port ([uint32] $Port) -ErrorAction Stop)
        $t1 = [DateTime]::UtcNow
        $exact = $null
        $all = $null
        foreach ($r in $rules) {
            $ip = "$(Get-AccValue $r @('VirtualIPAddress', 'IPAddress', 'IP'))"
            $start = Get-AccValue $r @('StartPort', 'Start')
            $end = Get-AccValue $r @('EndPort', 'End')
            if ($null -ne $start -and $null -ne $end -and ($Port -lt [int] $start -or $Port -gt [int] $end)) { continue }
            if ($ip -eq $Vip) {
                if ($null -eq $exact) { $exact = $r }
            } elseif ($ip -in @('255.255.255.255', 'All', '')) {
                if ($null -eq $all) { $all = $r }
            }
        }
        $rule = if ($null -ne $exact) { $exact } else { $all }
        $field = Get-AccProp $rule @('PortState', 'State')
        $state = if ($null -eq $rule) { 'norule' } elseif ($null -eq $field) { 'nofield' } else { ConvertTo-AccPortWord $field.Value }
        $describe = {
            param($o)
            @($o.PSObject.Properties | ForEach-Object {
                    $v = try { $_.Value } catch { '?' }
                    '{0}={1}' -f $_.Name, $v
                }) -join '; '
        }
        $props = if ($null -ne $rule) { & $describe $rule } else { '' }
        $allRules = @($rules | ForEach-Object { & $describe $_ }) -join ' | '
        $signature = ''
        if ($null -ne $rule) {
            $signature = 'vip {0} ports {1}-{2} protocol {3} mode {4} affinity {5}' -f `
                (Get-AccValue $rule @('VirtualIPAddress', 'IPAddress', 'IP')),
            (Get-AccValue $rule @('StartPort', 'Start')), (Get-AccValue $rule @('EndPort', 'End')),
            (Get-AccValue $rule @('Protocol')), (Get-AccValue $rule @('FilteringMode', 'Mode')),
            (Get-AccValue $rule @('Affinity'))
        }
        $wmiState = 'not read'
        $wmiDetail = ''
        if (-not $NoWmi) {
            try {
                $w = @(Get-CimInstance -Namespace 'root/MicrosoftNLB' -ClassName 'MicrosoftNLB_PortRuleEx' -ErrorAction Stop |
                        Where-Object { $_.StartPort -le $Port -and $_.EndPort -ge $Port })
                $mine = @($w | Where-Object { "$($_.Name)" -like "$($ClusterIp):*" })
                if ($mine.Count -gt 0) { $w = $mine }
                $pick = @($w | Where-Object { $_.VirtualIpAddress -eq $Vip }) + @($w | Where-Object { $_.VirtualIpAddress -eq '255.255.255.255' })
                if ($pick.Count -gt 0) {
                    $p = $pick | Select-Object -First 1
                    $wmiState = ConvertTo-AccPortWord $p.PortState
                    $wmiDetail = 'Name={0} VirtualIpAddress={1} StartPort={2} EndPort={3} PortState={4}' -f $p.Name, $p.VirtualIpAddress, $p.StartPort, $p.EndPort, $p.PortState
                } else {
                    $wmiState = 'norule'
                }
            } catch {
                $wmiState = 'error'
                $wmiDetail = $_.Exception.Message
            }
        }
        [pscustomobject]@{
            Host      = $env:COMPUTERNAME
            NlbNode   = $Context.NodeName
            State     = $state
            Field     = $(if ($null -ne $field) { $field.Name } else { '' })
            Raw       = $(if ($null -ne $field) { "$($field.Value)" } else { '' })
            RuleIp    = $(if ($null -ne $rule) { "$(Get-AccValue $rule @('VirtualIPAddress', 'IPAddress', 'IP'))" } else { '' })
            Signature = $signature
            RuleCount = $rules.Count
            Props     = $props
            AllRules  = $allRules
            WmiState  = $wmiState
            WmiDetail = $wmiDetail
            T0        = $t0.Ticks
            T1        = $t1.Ticks
        }
    }

    # Samples the local port state until it reads Until (then LingerMs more)
    # or TimeoutMs passes. Emits a 'ready' object, one 'sample' per reading
    # (T0/T1: this host's UTC ticks around the reading) and an 'end' object.
    function global:Watch-AccPort {
        param([string] $ClusterIp, [string] $Vip, [int] $Port, [string] $Until, [int] $TimeoutMs, [int] $LingerMs)
        $ctx = Get-AccNlbContext $ClusterIp
        [void] (Read-AccPortRule -Context $ctx -ClusterIp $ClusterIp -Vip $Vip -Port $Port -NoWmi)  # warm up
        [pscustomobject]@{ Kind = 'ready'; Host = $env:COMPUTERNAME; T0 = [DateTime]::UtcNow.Ticks; T1 = 0L; State = ''; Error = '' }
        $deadline = [DateTime]::UtcNow.AddMilliseconds($TimeoutMs)
        $stopAt = $null
        $count = 0
        while ([DateTime]::UtcNow -lt $deadline) {
            $t0 = [DateTime]::UtcNow.Ticks
            $state = 'error'
            $err = ''
            try {
                $r = Read-AccPortRule -Context $ctx -ClusterIp $ClusterIp -Vip $Vip -Port $Port -NoWmi
                $state = $r.State
                $t0 = $r.T0
            } catch {
                $err = $_.Exception.Message
            }
            $t1 = [DateTime]::UtcNow.Ticks
            $count++
            [pscustomobject]@{ Kind = 'sample'; Host = $env:COMPUTERNAME; T0 = $t0; T1 = $t1; State = $state; Error = $err }
            if ($null -eq $stopAt -and $Until -and $state -eq $Until) { $stopAt = [DateTime]::UtcNow.AddMilliseconds($LingerMs) }
            if ($null -ne $stopAt -and [DateTime]::UtcNow -ge $stopAt) { break }
            Start-Sleep -Milliseconds 50
        }
        [pscustomobject]@{ Kind = 'end'; Host = $env:COMPUTERNAME; T0 = [DateTime]::UtcNow.Ticks; T1 = 0L; State = "$count samples"; Error = '' }
    }

    # Disables adapters for Seconds through a scheduled task running as
    # SYSTEM (the remoting session that starts it may ride on one of them),
    # which turns them back on in a finally block; a second task, due
    # Seconds + 90 s later, enables them again as a safety net.
    function global:Start-AccNicCut {
        param([string] $Id, [string[]] $Aliases, [int] $Seconds, [int] $DelaySeconds)
        $dir = Join-Path $env:ProgramData 'nlbctl-acceptance'
        New-Item -ItemType Directory -Force -Path $dir | Out-Null
        $log = Join-Path $dir "cut-$Id.log"
        $cut = Join-Path $dir "cut-$Id.ps1"
        $restore = Join-Path $dir "restore-$Id.ps1"
        $aliasList = @($Aliases | ForEach-Object { "'" + ($_ -replace "'", "''") + "'" }) -join ', '
        $logLiteral = "'" + ($log -replace "'", "''") + "'"
        $cutText = @'
$ErrorActionPreference = 'Continue'
$log = __LOG__
$aliases = @(__ALIASES__)
function Mark([string] $What) { Add-Content -LiteralPath $log -Value ('{0} {1}' -f [DateTime]::UtcNow.Ticks, $What) }
Mark 'task started'
Start-Sleep -Seconds __DELAY__
try {
    Mark 'disabling'
    try { Disable-NetAdapter -Name $aliases -Confirm:$false -ErrorAction Stop; Mark 'disabled' }
    catch { Mark ('disable failed: ' + $_.Exception.Message) }
    Start-Sleep -Seconds __SECONDS__
} finally {
    Mark 'enabling'
    try { Enable-NetAdapter -Name $aliases -Confirm:$false -ErrorAction Stop; Mark 'enabled' }
    catch { Mark ('enable failed: ' + $_.Exception.Message) }
}
'@
        $restoreText = @'
$ErrorActionPreference = 'Continue'
$log = __LOG__
$aliases = @(__ALIASES__)
Add-Content -LiteralPath $log -Value ('{0} {1}' -f [DateTime]::UtcNow.Ticks, 'safety net: enabling')
try { Enable-NetAdapter -Name $aliases -Confirm:$false -ErrorAction Stop } catch { }
Add-Content -LiteralPath $log -Value ('{0} {1}' -f [DateTime]::UtcNow.Ticks, 'safety net: done')
'@
        $fill = { param($t) $t.Replace('__LOG__', $logLiteral).Replace('__ALIASES__', $aliasList).Replace('__DELAY__', [string] $DelaySeconds).Replace('__SECONDS__', [string] $Seconds) }
        $utf8Bom = New-Object System.Text.UTF8Encoding($true)
        [System.IO.File]::WriteAllText($cut, (& $fill $cutText), $utf8Bom)
        [System.IO.File]::WriteAllText($restore, (& $fill $restoreText), $utf8Bom)
        $ps = Join-Path $env:SystemRoot 'System32\WindowsPowerShell\v1.0\powershell.exe'
        $principal = New-ScheduledTaskPrincipal -UserId 'NT AUTHORITY\SYSTEM' -LogonType ServiceAccount -RunLevel Highest
        $settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable -ExecutionTimeLimit (New-TimeSpan -Minutes 30)
        $taskPath = '\nlbctl-acceptance\'
        $cutAction = New-ScheduledTaskAction -Execute $ps -Argument ('-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{0}"' -f $cut)
        Register-ScheduledTask -TaskName "cut-$Id" -TaskPath $taskPath -Action $cutAction -Principal $principal -Settings $settings -Force | Out-Null
        $netAt = (Get-Date).AddSeconds($DelaySeconds + $Seconds + 90)
        $netAction = New-ScheduledTaskAction -Execute $ps -Argument ('-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{0}"' -f $restore)
        $netTrigger = New-ScheduledTaskTrigger -Once -At $netAt
        Register-ScheduledTask -TaskName "restore-$Id" -TaskPath $taskPath -Action $netAction -Trigger $netTrigger -Principal $principal -Settings $settings -Force | Out-Null
        Start-ScheduledTask -TaskName "cut-$Id" -TaskPath $taskPath
        [pscustomobject]@{ Host = $env:COMPUTERNAME; Log = $log; Started = [DateTime]::UtcNow.Ticks; SafetyNetAt = $netAt.ToString('s') }
    }

    function global:Get-AccCutLog {
        param([string] $Id)
        $log = Join-Path (Join-Path $env:ProgramData 'nlbctl-acceptance') "cut-$Id.log"
        if (-not (Test-Path -LiteralPath $log)) { return }
        foreach ($line in @(Get-Content -LiteralPath $log)) {
            if ($line -match '^(\d+) (.*)$') { [pscustomobject]@{ T = [long] $Matches[1]; What = $Matches[2] } }
        }
    }

    function global:Remove-AccCutTask {
        param([string] $Id, [switch] $KeepSafetyNet)
        $names = @("cut-$Id")
        if (-not $KeepSafetyNet) { $names += "restore-$Id" }
        foreach ($n in $names) {
            try { Unregister-ScheduledTask -TaskName $n -TaskPath '\nlbctl-acceptance\' -Confirm:$false -ErrorAction Stop } catch { }
        }
    }

    function global:Get-AccLogTail {
        param([int] $Lines = 40)
        $log = Join-Path $env:ProgramData 'nlbctl\nlbctld.log'
        if (-not (Test-Path -LiteralPath $log)) { return "(no $log)" }
        return (@(Get-Content -LiteralPath $log -Tail $Lines) -join "`n")
    }
}

# Installs nlbctld on one host (node or witness); runs there. Returns what it
# did and saw. P is a hashtable: Role, Method (copy|nsis|msi), InstallerName,
# Ini, FirewallPort, StandIn (bool), AppService.
$InstallBlock = {
    param([hashtable] $P)
    $ErrorActionPreference = 'Stop'
    $ProgressPreference = 'SilentlyContinue'
    $said = New-Object System.Collections.Generic.List[string]
    $result = [ordered]@{ Host = $env:COMPUTERNAME; Ok = $false; Error = ''; Log = @(); Exe = ''; Nlbctl = ''; FailureActions = ''; CheckOut = '' }
    try {
        $dir = Join-Path $env:ProgramFiles 'nlbctl'
        $data = Join-Path $env:ProgramData 'nlbctl'
        $acc = Join-Path $env:ProgramData 'nlbctl-acceptance'
        $stage = Join-Path $acc 'package'
        $markerPath = Join-Path $acc 'installed.json'
        $sc = Join-Path $env:SystemRoot 'System32\sc.exe'
        $prev = $null
        if (Test-Path -LiteralPath $markerPath) { $prev = Get-Content -Raw -LiteralPath $markerPath | ConvertFrom-Json }
        $mark = @{
            method         = $P.Method
            createdService = [bool] (Get-AccValue $prev @('createdService'))
            createdStandIn = [bool] (Get-AccValue $prev @('createdStandIn'))
            firewallRule   = ''
            iniBackup      = "$(Get-AccValue $prev @('iniBackup'))"
            installerName  = $P.InstallerName
        }
        $run = {
            param([string] $Exe, [string[]] $A, [int] $T = 60)
            $r = Invoke-AccNative $Exe $A $T
            $said.Add(('ran: {0} -> {1}' -f $r.Command, $(if ($r.TimedOut) { 'timed out' } else { "exit $($r.ExitCode)" })))
            foreach ($l in @(($r.Out + "`n" + $r.Err) -split "`r?`n" | Where-Object { $_.Trim() })) { $said.Add("     $l") }
            return $r
        }

        # 1. an nlbctld already here is stopped first (files are replaced below)
        $svc = Get-Service -Name 'nlbctld' -ErrorAction SilentlyContinue
        if ($null -ne $svc -and $svc.Status -ne 'Stopped') {
            $svc.Stop()
            $svc.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(30))
            $said.Add('stopped the nlbctld service that was running')
        }

        # 2. binaries
        New-Item -ItemType Directory -Force -Path $dir | Out-Null
        switch ($P.Method) {
            'copy' {
                foreach ($f in @('nlbctld.exe', 'nlbctl.exe')) { Copy-Item -LiteralPath (Join-Path $stage $f) -Destination $dir -Force }
                $said.Add("copied nlbctld.exe and nlbctl.exe to $dir")
            }
            'nsis' {
                $r = & $run (Join-Path $stage $P.InstallerName) @('/S') 300
                if ($r.ExitCode -ne 0) { throw "$($P.InstallerName) /S failed: exit $($r.ExitCode)" }
            }
            'msi' {
                $msiLog = Join-Path $acc 'msiexec-install.log'
                $r = & $run (Join-Path $env:SystemRoot 'System32\msiexec.exe') @('/i', (Join-Path $stage $P.InstallerName), '/qn', '/norestart', '/l*v', $msiLog) 300
                if ($r.ExitCode -ne 0 -and $r.ExitCode -ne 3010) { throw "msiexec /i failed: exit $($r.ExitCode) (log: $msiLog)" }
            }
            default { throw "unknown install method $($P.Method)" }
        }
        $exe = Join-Path $dir 'nlbctld.exe'
        if ($P.Method -ne 'copy') {
            $w32 = Get-CimInstance -ClassName Win32_Service -Filter "Name='nlbctld'" -ErrorAction SilentlyContinue
            if ($null -eq $w32) { throw 'the installer did not register a service named nlbctld' }
            $said.Add("the installer registered nlbctld: $($w32.PathName)")
            if ("$($w32.PathName)" -match '^\s*"([^"]+)"') { $exe = $Matches[1] } elseif ("$($w32.PathName)" -match '^\s*(\S+)') { $exe = $Matches[1] }
        }
        if (-not (Test-Path -LiteralPath $exe)) { throw "no nlbctld.exe at $exe" }
        $nlbctl = Join-Path (Split-Path -Parent $exe) 'nlbctl.exe'
        if (-not (Test-Path -LiteralPath $nlbctl)) { throw "no nlbctl.exe at $nlbctl" }
        $result.Exe = $exe
        $result.Nlbctl = $nlbctl

        # 3. the config: written fresh, readable by Administrators and SYSTEM only (it holds the key)
        New-Item -ItemType Directory -Force -Path $data | Out-Null
        $ini = Join-Path $data 'nlbctld.ini'
        if ((Test-Path -LiteralPath $ini) -and $null -eq $prev) {
            $backup = Join-Path $data ('nlbctld.ini.before-acceptance-' + (Get-Date -Format 'yyyyMMddHHmmss'))
            Copy-Item -LiteralPath $ini -Destination $backup
            $mark.iniBackup = $backup
            $said.Add("an nlbctld.ini not written by this script was there: kept as $backup")
        }
        [System.IO.File]::WriteAllText($ini, $P.Ini, (New-Object System.Text.UTF8Encoding($false)))
        $said.Add("wrote $ini")
        [void] (& $run (Join-Path $env:SystemRoot 'System32\icacls.exe') @($ini, '/inheritance:r', '/grant:r', '*S-1-5-32-544:(F)', '*S-1-5-18:(F)'))
        $check = & $run $exe @('--check', '--config', $ini) 30
        $result.CheckOut = ($check.Out + $check.Err).Trim()
        if ($check.ExitCode -ne 0) { throw "nlbctld --check refused $($ini): exit $($check.ExitCode): $($result.CheckOut)" }

        # 4. the service, restarted 1 s after a crash (README: "The timing rule")
        if ($P.Method -eq 'copy') {
            $bin = '"{0}"' -f $exe
            if ($null -eq (Get-Service -Name 'nlbctld' -ErrorAction SilentlyContinue)) {
                $r = & $run $sc @('create', 'nlbctld', 'binpath=', $bin, 'start=', 'auto')
                if ($r.ExitCode -ne 0) { throw "sc create nlbctld failed: exit $($r.ExitCode)" }
                $mark.createdService = $true
            } else {
                $r = & $run $sc @('config', 'nlbctld', 'binpath=', $bin, 'start=', 'auto')
                if ($r.ExitCode -ne 0) { throw "sc config nlbctld failed: exit $($r.ExitCode)" }
            }
            $r = & $run $sc @('failure', 'nlbctld', 'reset=', '86400', 'actions=', 'restart/1000')
            if ($r.ExitCode -ne 0) { throw "sc failure nlbctld failed: exit $($r.ExitCode)" }
        }
        $q = & $run $sc @('qfailure', 'nlbctld')
        $result.FailureActions = $q.Out

        # 5. firewall
        $fwName = "nlbctl-acceptance-$($P.FirewallPort)"
        if ($null -eq (Get-NetFirewallRule -Name $fwName -ErrorAction SilentlyContinue)) {
            New-NetFirewallRule -Name $fwName -DisplayName "nlbctl acceptance: nlbctld TCP $($P.FirewallPort) in" `
                -Direction Inbound -Protocol TCP -LocalPort $P.FirewallPort -Action Allow -Profile Any | Out-Null
            $said.Add("added firewall rule $fwName (inbound TCP $($P.FirewallPort))")
        } else {
            $said.Add("firewall rule $fwName was already there")
        }
        $mark.firewallRule = $fwName

        # 6. the application on a node
        if ($P.Role -eq 'agent') {
            if ($P.StandIn) {
                $standinExe = Join-Path $dir 'standin_app.exe'
                $existing = Get-Service -Name 'NlbctlStandin' -ErrorAction SilentlyContinue
                if ($null -ne $existing -and $existing.Status -ne 'Stopped') {
                    $existing.Stop()
                    $existing.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(30))
                }
                Copy-Item -LiteralPath (Join-Path $stage 'standin_app.exe') -Destination $standinExe -Force
                $sbin = '"{0}" --service' -f $standinExe
                if ($null -eq $existing) {
                    $r = & $run $sc @('create', 'NlbctlStandin', 'binpath=', $sbin, 'start=', 'demand', 'DisplayName=', 'nlbctl acceptance stand-in application')
                    if ($r.ExitCode -ne 0) { throw "sc create NlbctlStandin failed: exit $($r.ExitCode)" }
                    $mark.createdStandIn = $true
                } else {
                    $r = & $run $sc @('config', 'NlbctlStandin', 'binpath=', $sbin, 'start=', 'demand')
                    if ($r.ExitCode -ne 0) { throw "sc config NlbctlStandin failed: exit $($r.ExitCode)" }
                }
                Start-Service -Name 'NlbctlStandin'
                $said.Add('started the stand-in application service NlbctlStandin')
            }
            $app = Get-Service -Name $P.AppService
            $said.Add("application service $($P.AppService): $($app.Status)")
            if ("$($app.Status)" -ne 'Running') { throw "application service $($P.AppService) is $($app.Status), not Running" }
        }

        $mark | ConvertTo-Json | Set-Content -LiteralPath $markerPath -Encoding UTF8
        $result.Ok = $true
    } catch {
        $result.Error = $_.Exception.Message
    }
    $result.Log = $said.ToArray()
    [pscustomobject] $result
}

# Starts or stops a service with a bounded wait; runs on the host.
$ServiceBlock = {
    param([string] $Name, [string] $Action, [int] $TimeoutSec)
    $ErrorActionPreference = 'Stop'
    $said = ''
    $ok = $false
    $svc = Get-Service -Name $Name -ErrorAction SilentlyContinue
    if ($null -eq $svc) {
        $said = "no service named $Name"
    } else {
        $want = if ($Action -eq 'start') { 'Running' } else { 'Stopped' }
        try {
            if ("$($svc.Status)" -ne $want) {
                if ($Action -eq 'start') { $svc.Start() } else { $svc.Stop() }
            }
            $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
            do {
                Start-Sleep -Milliseconds 250
                $svc.Refresh()
                if ("$($svc.Status)" -eq $want) { $ok = $true; break }
                if ($Action -eq 'start' -and "$($svc.Status)" -eq 'Stopped') { break }
            } while ([DateTime]::UtcNow -lt $deadline)
        } catch {
            $said = $_.Exception.Message + ' '
        }
        $w32 = Get-CimInstance -ClassName Win32_Service -Filter "Name='$Name'" -ErrorAction SilentlyContinue
        $said += 'status {0}' -f $svc.Status
        if ($null -ne $w32) { $said += ', exit code {0}, service-specific exit code {1}' -f $w32.ExitCode, $w32.ServiceSpecificExitCode }
    }
    [pscustomobject]@{ Host = $env:COMPUTERNAME; Ok = $ok; Said = $said }
}

# ---- logging and step bookkeeping on the witness -----------------------------

$script:Steps = New-Object System.Collections.Generic.List[object]
$script:Current = $null

function Write-Log {
    param([string] $Text, [string] $Colour = '')
    $line = '{0}  {1}' -f (Get-Date -Format 'HH:mm:ss.fff'), $Text
    if ($Colour) { Write-Host $line -ForegroundColor $Colour } else { Write-Host $line }
}

function Write-Block {
    param([string] $Prefix, [string] $Text)
    foreach ($l in @($Text -split "`r?`n" | Where-Object { $_.Trim() })) { Write-Log ('{0}{1}' -f $Prefix, $l) }
}

function Write-Run {
    param($Result, [string] $Where)
    if ($null -eq $Result) { return }
    $code = if ($Result.TimedOut) { 'timed out' } else { "exit $($Result.ExitCode)" }
    Write-Log ('[{0}] ran: {1}' -f $Where, $Result.Command)
    Write-Log ('[{0}] saw: {1} after {2} ms' -f $Where, $code, [long](($Result.T1 - $Result.T0) / 10000))
    Write-Block "[$Where]   out: " $Result.Out
    Write-Block "[$Where]   err: " $Result.Err
}

function Format-Error {
    param($ErrorRecord)
    $where = ''
    if ($null -ne $ErrorRecord.InvocationInfo -and $ErrorRecord.InvocationInfo.ScriptLineNumber) {
        $where = ' (acceptance.ps1 line {0})' -f $ErrorRecord.InvocationInfo.ScriptLineNumber
    }
    return ('{0}{1}' -f $ErrorRecord.Exception.Message, $where)
}

function Add-Check {
    param([string] $Name, [bool] $Ok, [string] $Evidence)
    $r = if ($Ok) { 'PASS' } else { 'FAIL' }
    $script:Current.Checks.Add([pscustomobject]@{ Result = $r; Check = $Name; Evidence = $Evidence })
    Write-Log ('  {0}  {1}' -f $r, $Name) $(if ($Ok) { 'Green' } else { 'Red' })
    Write-Block '        ' $Evidence
}

function Add-Info {
    param([string] $Name, [string] $Evidence)
    $script:Current.Checks.Add([pscustomobject]@{ Result = 'INFO'; Check = $Name; Evidence = $Evidence })
    Write-Log ('  INFO  {0}' -f $Name) 'Cyan'
    Write-Block '        ' $Evidence
}

# Runs one numbered step: BLOCKED if a step in Needs did not pass, SKIPPED
# with SkipReason, otherwise FAIL if any check failed (or it threw), INFO if
# marked informational, else PASS.
function Invoke-Step {
    param([int] $Number, [string] $Title, [scriptblock] $Body, [int[]] $Needs = @(), [string] $SkipReason = '')
    $rec = [pscustomobject]@{
        Number = $Number; Title = $Title; Verdict = ''; Note = ''; Seconds = 0
        Informational = $false; Checks = (New-Object System.Collections.Generic.List[object])
    }
    $script:Steps.Add($rec)
    $script:Current = $rec
    Write-Host ''
    Write-Log ('==== step {0}: {1}' -f $Number, $Title) 'White'
    if ($SkipReason) {
        $rec.Verdict = 'SKIPPED'
        $rec.Note = $SkipReason
        Write-Log ('==== step {0}: SKIPPED ({1})' -f $Number, $SkipReason) 'DarkGray'
        return
    }
    foreach ($n in $Needs) {
        $dep = @($script:Steps | Where-Object { $_.Number -eq $n }) | Select-Object -First 1
        if ($null -eq $dep -or $dep.Verdict -notin @('PASS', 'INFO')) {
            $rec.Verdict = 'BLOCKED'
            $rec.Note = "step $n did not pass"
            Write-Log ('==== step {0}: BLOCKED (step {1} did not pass)' -f $Number, $n) 'Red'
            return
        }
    }
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    try {
        & $Body
    } catch {
        Add-Check 'the step ran to its end' $false (Format-Error $_)
    }
    $rec.Seconds = [math]::Round($sw.Elapsed.TotalSeconds, 1)
    $failed = @($rec.Checks | Where-Object { $_.Result -eq 'FAIL' }).Count
    $passed = @($rec.Checks | Where-Object { $_.Result -eq 'PASS' }).Count
    if ($failed -gt 0) { $rec.Verdict = 'FAIL' }
    elseif ($rec.Informational) { $rec.Verdict = 'INFO' }
    elseif ($passed -eq 0) { $rec.Verdict = 'FAIL'; $rec.Note = 'no check was made' }
    else { $rec.Verdict = 'PASS' }
    $colour = 'Red'
    if ($rec.Verdict -eq 'PASS') { $colour = 'Green' } elseif ($rec.Verdict -eq 'INFO') { $colour = 'Cyan' }
    Write-Log ('==== step {0}: {1} ({2} s)' -f $Number, $rec.Verdict, $rec.Seconds) $colour
}

# ---- hosts, sessions, remote calls -------------------------------------------

$script:H = @{
    n1 = @{ Key = 'n1'; Target = $Node1; Name = ''; Address = $Node1Address; Session = $null; LinkAliases = @(); Nlbctl = ''; NlbInterface = ''; ProgramData = 'C:\ProgramData' }
    n2 = @{ Key = 'n2'; Target = $Node2; Name = ''; Address = $Node2Address; Session = $null; LinkAliases = @(); Nlbctl = ''; NlbInterface = ''; ProgramData = 'C:\ProgramData' }
    w  = @{ Key = 'w'; Target = $env:COMPUTERNAME; Name = $env:COMPUTERNAME; Address = $WitnessAddress; Session = $null; LinkAliases = @(); Nlbctl = ''; NlbInterface = ''; ProgramData = $env:ProgramData }
}

function Get-Other {
    param([string] $Key)
    if ($Key -eq 'n1') { return 'n2' }
    return 'n1'
}

function Get-KeyOf {
    param([string] $Name)
    foreach ($k in @('n1', 'n2')) { if ($script:H[$k].Name -eq $Name) { return $k } }
    return ''
}

function Get-HostSession {
    param([string] $Key, [int] $OpenTimeoutMs = 30000)
    $h = $script:H[$Key]
    if ($null -ne $h.Session) {
        if ($h.Session.State -eq 'Opened' -and $h.Session.Availability -eq 'Available') { return $h.Session }
        Remove-PSSession -Session $h.Session -ErrorAction SilentlyContinue
        $h.Session = $null
    }
    $splat = @{ ComputerName = $h.Target; SessionOption = (New-PSSessionOption -OpenTimeout $OpenTimeoutMs); ErrorAction = 'Stop' }
    if ($Credential) { $splat.Credential = $Credential }
    $s = New-PSSession @splat
    Invoke-Command -Session $s -ScriptBlock $NodeLib
    $h.Session = $s
    return $s
}

function Reset-HostSession {
    param([string] $Key)
    $h = $script:H[$Key]
    if ($null -ne $h.Session) { Remove-PSSession -Session $h.Session -ErrorAction SilentlyContinue }
    $h.Session = $null
}

# Runs Script on a host with a time limit (the witness: in this session).
function Invoke-Remote {
    param([string] $Key, [scriptblock] $Script, [object[]] $ArgumentList = @(), [int] $TimeoutSec = 120)
    if ($Key -eq 'w') { return Invoke-Command -ScriptBlock $Script -ArgumentList $ArgumentList }
    $s = Get-HostSession $Key
    $job = Invoke-Command -Session $s -ScriptBlock $Script -ArgumentList $ArgumentList -AsJob
    try {
        if ($null -eq (Wait-Job -Job $job -Timeout $TimeoutSec)) {
            Stop-Job -Job $job -ErrorAction SilentlyContinue
            throw ('a remote command on {0} did not finish within {1} s' -f $script:H[$Key].Target, $TimeoutSec)
        }
        Receive-Job -Job $job
    } finally {
        Remove-Job -Job $job -Force -ErrorAction SilentlyContinue
    }
}

function Invoke-HostNative {
    param([string] $Key, [string] $Exe, [string[]] $Arguments, [int] $TimeoutSec = 60, [switch] $Quiet)
    $r = Invoke-Remote $Key {
        param($e, $a, $t)
        Invoke-AccNative -FilePath $e -ArgumentList $a -TimeoutSec $t
    } @($Exe, $Arguments, $TimeoutSec) ($TimeoutSec + 30)
    if (-not $Quiet) { Write-Run $r $script:H[$Key].Name }
    return $r
}

# Clock offset of a node against the witness (node minus witness, ticks),
# from the fastest of five remoting round trips; uncertainty = half of it.
function Measure-Offset {
    param([string] $Key)
    $s = Get-HostSession $Key
    $best = $null
    for ($i = 0; $i -lt 5; $i++) {
        $a = [DateTime]::UtcNow.Ticks
        $remote = [long] (Invoke-Command -Session $s -ScriptBlock { [DateTime]::UtcNow.Ticks })
        $b = [DateTime]::UtcNow.Ticks
        $rtt = $b - $a
        if ($null -eq $best -or $rtt -lt $best.Rtt) {
            $best = [pscustomobject]@{ Rtt = $rtt; Offset = $remote - [long](($a + $b) / 2) }
        }
    }
    $o = [pscustomobject]@{ Key = $Key; Offset = [long] $best.Offset; UncMs = [math]::Round($best.Rtt / 20000.0, 1) }
    Write-Log ('clock of {0}: {1:+0.0;-0.0} ms against the witness (+/- {2} ms)' -f $script:H[$Key].Name, ($o.Offset / 10000.0), $o.UncMs)
    return $o
}

function ConvertTo-Ms {
    param([long] $Ticks)
    return [math]::Round($Ticks / 10000.0, 0)
}

# ---- reading the lab -----------------------------------------------------------

function Read-NodePort {
    param([string] $Key)
    Invoke-Remote $Key {
        param($ci, $vip, $port)
        $ErrorActionPreference = 'Stop'
        $ctx = Get-AccNlbContext $ci
        Read-AccPortRule -Context $ctx -ClusterIp $ci -Vip $vip -Port $port
    } @($ClusterIp, $Vip, $Port) 90
}

function Format-Port {
    param($R)
    $field = if ($R.Field) { "Get-NlbClusterPortRule .{0}='{1}'" -f $R.Field, $R.Raw } else { 'Get-NlbClusterPortRule: no PortState/State property' }
    return ('{0}: {1} ({2}; rule {3}; WMI MicrosoftNLB_PortRuleEx.PortState: {4})' -f $R.Host, $R.State, $field, $R.Signature, $R.WmiState)
}

# Reads both nodes (up to WithinSec until they match Expect), adds a check
# for the expectation and one if the cmdlet and WMI disagree.
function Test-PortState {
    param([hashtable] $Expect, [string] $Label, [double] $WithinSec = 0)
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $keys = @(@('n1', 'n2') | Where-Object { $Expect.ContainsKey($_) })
    do {
        $reads = @{}
        $ok = $true
        foreach ($k in $keys) {
            $reads[$k] = Read-NodePort $k
            if ($reads[$k].State -ne $Expect[$k]) { $ok = $false }
        }
        if ($ok -or $sw.Elapsed.TotalSeconds -ge $WithinSec) { break }
        Start-Sleep -Milliseconds 500
    } while ($true)
    $lines = @($keys | ForEach-Object { 'want {0} on {1}; read {2}' -f $Expect[$_], $script:H[$_].Name, (Format-Port $reads[$_]) })
    if ($WithinSec -gt 0) { $lines += ('read after {0:0.0} s (limit {1} s)' -f $sw.Elapsed.TotalSeconds, $WithinSec) }
    Add-Check $Label $ok ($lines -join "`n")
    foreach ($k in $keys) {
        $r = $reads[$k]
        if ($r.WmiState -in @('enabled', 'disabled', 'draining') -and $r.WmiState -ne $r.State) {
            Add-Check ('Get-NlbClusterPortRule and WMI agree on {0}' -f $r.Host) $false `
            ("Get-NlbClusterPortRule .{0}='{1}' reads {2}, WMI {3} reads {4}: this script's field mapping is wrong for this Windows version (see README.md), not necessarily nlbctl" -f $r.Field, $r.Raw, $r.State, $r.WmiDetail, $r.WmiState)
        }
    }
    return $ok
}

function Get-CoordStatus {
    $r = Invoke-AccNative -FilePath $script:H.w.Nlbctl -ArgumentList @('status', '--json') -TimeoutSec 15
    $json = $null
    if ($r.ExitCode -eq 0) {
        try { $json = $r.Out | ConvertFrom-Json } catch { $json = $null }
    }
    [pscustomobject]@{ Run = $r; S = $json; T0 = $r.T0; T1 = $r.T1 }
}

function Get-CoordNode {
    param($Status, [string] $Name)
    if ($null -eq $Status -or $null -eq $Status.S) { return $null }
    return @(@($Status.S.nodes) | Where-Object { $_.name -eq $Name }) | Select-Object -First 1
}

# A node's "sip_probe" in the coordinator's status (off, unknown, answering,
# not answering); '' if the node or the field is missing.
function Get-ProbeWord {
    param($Node)
    return "$(Get-AccValue $Node @('sip_probe'))"
}

function Format-Coord {
    param($Status)
    if ($null -eq $Status) { return 'no status' }
    if ($null -eq $Status.S) {
        $code = if ($Status.Run.TimedOut) { 'timed out' } else { "exit $($Status.Run.ExitCode)" }
        return ('nlbctl status --json: {0}: {1}' -f $code, ($Status.Run.Out + ' ' + $Status.Run.Err).Trim())
    }
    $s = $Status.S
    $nodes = @(@($s.nodes) | ForEach-Object {
            $heard = if ($null -eq $_.last_heard_ms) { 'never heard' } else { "heard $($_.last_heard_ms) ms ago" }
            $probe = Get-ProbeWord $_
            $sip = if ($probe -and $probe -ne 'off') { ", SIP probe $probe" } else { '' }
            '{0}: link {1}, peer link {2}, {3}, app {4}{9}, port {5} (wanted {6}), epoch {7}, {8}' -f `
                $_.name, $_.link, $_.peer_link, $_.mode, $_.app, $_.port_actual, $_.port_desired, $_.epoch, $heard, $sip
        }) -join '; '
    $primary = if ($null -eq $s.primary) { '(none)' } else { $s.primary }
    return ('coordinator: primary {0}, epoch {1}, phase {2}; {3}' -f $primary, $s.epoch, $s.phase, $nodes)
}

# Stable: phase stable, a primary (ExpectPrimary if given), both links up,
# the primary's port enabled and the other's disabled, as the agents report.
function Test-Stable {
    param($Status, [string] $ExpectPrimary = '')
    if ($null -eq $Status -or $null -eq $Status.S) { return $false }
    $s = $Status.S
    if ($s.phase -ne 'stable' -or $null -eq $s.primary) { return $false }
    if ($ExpectPrimary -and $s.primary -ne $ExpectPrimary) { return $false }
    $nodes = @($s.nodes)
    if ($nodes.Count -ne 2) { return $false }
    foreach ($n in $nodes) {
        if ($n.link -ne 'up') { return $false }
        $want = if ($n.name -eq $s.primary) { 'enabled' } else { 'disabled' }
        if ($n.port_actual -ne $want) { return $false }
    }
    return $true
}

# Polls the coordinator until Test-Stable (bounded); logs each new picture.
function Wait-Stable {
    param([string] $ExpectPrimary = '', [double] $TimeoutSec = $STABLE_WAIT_S)
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $last = ''
    $st = $null
    do {
        $st = Get-CoordStatus
        $text = Format-Coord $st
        if ($text -ne $last) { Write-Log "  seen: $text"; $last = $text }
        if (Test-Stable $st $ExpectPrimary) {
            return [pscustomobject]@{ Ok = $true; Status = $st; Seconds = [math]::Round($sw.Elapsed.TotalSeconds, 1) }
        }
        Start-Sleep -Milliseconds 500
    } while ($sw.Elapsed.TotalSeconds -lt $TimeoutSec)
    return [pscustomobject]@{ Ok = $false; Status = $st; Seconds = [math]::Round($sw.Elapsed.TotalSeconds, 1) }
}

# ---- port watches (sampling jobs on the nodes) ---------------------------------

function Start-PortWatch {
    param([string] $Key, [string] $Until, [int] $TimeoutSec, [int] $LingerMs = 500)
    $s = Get-HostSession $Key
    $job = Invoke-Command -Session $s -AsJob -ScriptBlock {
        param($ci, $vip, $port, $until, $tms, $lms)
        $ErrorActionPreference = 'Stop'
        Watch-AccPort -ClusterIp $ci -Vip $vip -Port $port -Until $until -TimeoutMs $tms -LingerMs $lms
    } -ArgumentList $ClusterIp, $Vip, $Port, $Until, ($TimeoutSec * 1000), $LingerMs
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    while ($sw.Elapsed.TotalSeconds -lt 60) {
        $got = @(Receive-Job -Job $job -Keep -ErrorAction SilentlyContinue | Where-Object { $null -ne $_.PSObject.Properties['Kind'] -and $_.Kind -eq 'ready' })
        if ($got.Count -gt 0) {
            Write-Log ('  watching the port on {0} until it reads {1} (at most {2} s)' -f $script:H[$Key].Name, $Until, $TimeoutSec)
            return $job
        }
        if ($job.State -in @('Failed', 'Completed', 'Stopped')) { break }
        Start-Sleep -Milliseconds 200
    }
    $jobErr = $null
    [void] @(Receive-Job -Job $job -ErrorAction SilentlyContinue -ErrorVariable jobErr)
    Remove-Job -Job $job -Force -ErrorAction SilentlyContinue
    throw ('the port watch on {0} did not start: {1}' -f $script:H[$Key].Name, ((@($jobErr) | ForEach-Object { "$_" }) -join '; '))
}

# Waits for a watch (bounded) and returns its samples in witness time.
function Complete-PortWatch {
    param($Job, [string] $Key, [long] $OffsetTicks, [int] $TimeoutSec = 60)
    if ($null -eq (Wait-Job -Job $Job -Timeout $TimeoutSec)) { Stop-Job -Job $Job -ErrorAction SilentlyContinue }
    $jobErr = $null
    $out = @(Receive-Job -Job $Job -ErrorAction SilentlyContinue -ErrorVariable jobErr)
    Remove-Job -Job $Job -Force -ErrorAction SilentlyContinue
    foreach ($e in @($jobErr)) { if ($null -ne $e) { Write-Log ('  watch on {0}: error: {1}' -f $script:H[$Key].Name, $e) } }
    $samples = @($out | Where-Object { $null -ne $_.PSObject.Properties['Kind'] -and $_.Kind -eq 'sample' } | ForEach-Object {
            [pscustomobject]@{ T0 = [long] $_.T0 - $OffsetTicks; T1 = [long] $_.T1 - $OffsetTicks; State = $_.State; Error = $_.Error }
        })
    $errors = @($samples | Where-Object { $_.State -eq 'error' })
    $spans = @($samples | ForEach-Object { ($_.T1 - $_.T0) / 10000.0 } | Sort-Object)
    $median = if ($spans.Count -gt 0) { $spans[[int][math]::Floor($spans.Count / 2)] } else { 0 }
    $states = (@($samples | ForEach-Object { $_.State }) | Select-Object -Unique) -join ' -> '
    Write-Log ('  watch on {0}: {1} samples, one reading takes about {2:0} ms; states seen: {3}' -f $script:H[$Key].Name, $samples.Count, $median, $states)
    foreach ($e in ($errors | Select-Object -First 3)) { Write-Log ('    reading failed: {0}' -f $e.Error) }
    return , $samples
}

function Get-FirstSample {
    param([object[]] $Samples, [string] $State)
    return @($Samples | Where-Object { $_.State -eq $State }) | Select-Object -First 1
}

function Get-LastSample {
    param([object[]] $Samples, [string] $State)
    return @($Samples | Where-Object { $_.State -eq $State }) | Select-Object -Last 1
}

# ---- adapter cuts --------------------------------------------------------------

function Start-NicCut {
    param([string] $Key, [string] $Id, [string[]] $Aliases, [int] $Seconds)
    $r = Invoke-Remote $Key {
        param($id, $aliases, $sec, $delay)
        $ErrorActionPreference = 'Stop'
        Start-AccNicCut -Id $id -Aliases $aliases -Seconds $sec -DelaySeconds $delay
    } @($Id, $Aliases, $Seconds, $CUT_DELAY_S) 60
    Write-Log ('[{0}] ran: scheduled task \nlbctl-acceptance\cut-{1} (Disable-NetAdapter {2}; Start-Sleep {3}; Enable-NetAdapter), starting in {4} s; safety-net task restore-{1} at {5} (node time); log {6}' -f `
            $script:H[$Key].Name, $Id, ($Aliases -join ', '), $Seconds, $CUT_DELAY_S, $r.SafetyNetAt, $r.Log)
    return $r
}

# After a cut: waits until the node answers remoting again and its task has
# re-enabled the adapters (bounded), then returns the task's log in witness time.
function Wait-NicReturn {
    param([string] $Key, [string] $Id, [int] $Seconds)
    $name = $script:H[$Key].Name
    $limit = $CUT_DELAY_S + $Seconds + $RETURN_WAIT_S
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $log = @()
    $answered = $false
    Reset-HostSession $Key
    while ($sw.Elapsed.TotalSeconds -lt $limit) {
        try {
            [void] (Get-HostSession $Key -OpenTimeoutMs 10000)
            $answered = $true
            $log = @(Invoke-Remote $Key { param($id) Get-AccCutLog -Id $id } @($Id) 30)
            if (@($log | Where-Object { $_.What -match '^(enabled|enable failed)' }).Count -gt 0) { break }
        } catch {
            Reset-HostSession $Key
        }
        Start-Sleep -Seconds 2
    }
    $back = @($log | Where-Object { $_.What -match '^(enabled|enable failed)' }).Count -gt 0
    Write-Log ('  {0} {1} after {2:0} s' -f $name, $(if ($back) { 'is back' } elseif ($answered) { 'answers, but its task has not re-enabled the adapters' } else { 'does not answer remoting' }), $sw.Elapsed.TotalSeconds)
    if ($back) {
        # The cut task is done; the safety net is no longer needed.
        try { Invoke-Remote $Key { param($id) Remove-AccCutTask -Id $id } @($Id) 30 | Out-Null } catch { }
    }
    return [pscustomobject]@{ Back = $back; Answered = $answered; Log = $log }
}

# ---- the configs ---------------------------------------------------------------

# A -NodeNSipAddress (host:port) as Text, Ip (IPv4; a name is resolved by
# DNS on the witness; '' if it does not resolve) and Port.
function Split-SipAddress {
    param([string] $Text)
    $ip = ''
    $portNumber = 0
    if ($Text -match '^(.+):([0-9]+)$') {
        $name = $Matches[1]
        $portNumber = [int] $Matches[2]
        if ($name -match '^[0-9.]+$') {
            $ip = $name
        } else {
            try {
                $ip = "$(@([System.Net.Dns]::GetHostAddresses($name) | Where-Object { $_.AddressFamily -eq 'InterNetwork' }) | Select-Object -First 1)"
            } catch { $ip = '' }
        }
    }
    return [pscustomobject]@{ Text = $Text; Ip = $ip; Port = $portNumber }
}

# The W4 bound: the probes' worst detection time (the first failing probe
# goes out at most interval_ms after the cut, the fall-th fails timeout_ms
# after it was sent) plus the margin for the switchover itself.
function Get-SipBoundMs {
    return $SipFall * $SipIntervalMs + $SipTimeoutMs + $SipMarginMs
}

function New-Ini {
    param([string] $Role, [string] $SelfKey)
    $n1 = $script:H.n1.Name
    $n2 = $script:H.n2.Name
    $L = New-Object System.Collections.Generic.List[string]
    $L.Add('; written by tests/windows/acceptance.ps1 on {0} for an acceptance test; not for production' -f (Get-Date -Format 's'))
    $L.Add('[nlbctld]')
    $L.Add("role = $Role")
    $L.Add('')
    $L.Add('[pair]')
    $L.Add("name = $PAIR_NAME")
    $L.Add("node1 = $n1")
    $L.Add("node2 = $n2")
    $L.Add("preferred = $n1")
    $L.Add('')
    if ($Role -eq 'agent') {
        $other = $script:H[(Get-Other $SelfKey)]
        $L.Add('[agent]')
        $L.Add("node = $($script:H[$SelfKey].Name)")
        $L.Add(('coordinator = {0}:{1}' -f $script:H.w.Address, $COORD_PORT))
        $L.Add(('peer = {0}:{1}' -f $other.Address, $PEER_PORT))
        $L.Add(('peer_listen = 0.0.0.0:{0}' -f $PEER_PORT))
        $L.Add('')
        $L.Add('[application]')
        $L.Add("service = $($script:AppName)")
        $L.Add('')
        $L.Add('[nlb]')
        $L.Add('backend = wmi')
        $L.Add("vip = $Vip")
        $L.Add("port = $Port")
        $L.Add("cluster_ip = $ClusterIp")
        $L.Add('')
    } else {
        $L.Add('[coordinator]')
        $L.Add(('listen = 0.0.0.0:{0}' -f $COORD_PORT))
        $L.Add('preempt = no')
        $L.Add('')
        # Active SIP monitoring is the coordinator's: agents ignore [sip_monitor].
        if ($script:SipMonitor) {
            $L.Add('[sip_monitor]')
            $L.Add("node1 = $Node1SipAddress")
            $L.Add("node2 = $Node2SipAddress")
            if ($SipVip) { $L.Add("vip = $SipVip") }
            $L.Add("interval_ms = $SipIntervalMs")
            $L.Add("timeout_ms = $SipTimeoutMs")
            $L.Add("rise = $SipRise")
            $L.Add("fall = $SipFall")
            $L.Add('')
        }
    }
    if ($TimingIni.Count -gt 0) {
        $L.Add('[timing]')
        foreach ($line in $TimingIni) { $L.Add($line) }
        $L.Add('')
    }
    $L.Add('[security]')
    $L.Add("key = $($script:Psk)")
    return (($L -join "`r`n") + "`r`n")
}

function Hide-Key {
    param([string] $Text)
    return ($Text -replace '(?m)^key = [0-9A-Fa-f]+', 'key = <the key printed at the start>')
}

# ---- step 0: preflight ---------------------------------------------------------

function Invoke-Preflight {
    # The witness
    $isAdmin = ([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
    Add-Check 'the witness runs this elevated, PowerShell 5.1 or later' ($isAdmin -and $PSVersionTable.PSVersion.Major -ge 5) `
    ('{0}, PowerShell {1}, elevated: {2}' -f $env:COMPUTERNAME, $PSVersionTable.PSVersion, $isAdmin)

    # The package
    $missing = @()
    foreach ($f in @('nlbctld.exe', 'nlbctl.exe')) { if (-not (Test-Path -LiteralPath (Join-Path $PackageDir $f) -PathType Leaf)) { $missing += $f } }
    $script:StandinPath = ''
    if (-not $AppService) {
        foreach ($c in @((Join-Path $PackageDir 'standin_app.exe'), (Join-Path $PackageDir 'tests\apps\standin_app.exe'))) {
            if (Test-Path -LiteralPath $c -PathType Leaf) { $script:StandinPath = $c; break }
        }
        if (-not $script:StandinPath) { $missing += 'standin_app.exe (needed without -AppService)' }
    }
    $msi = @(Get-ChildItem -LiteralPath $PackageDir -Filter '*.msi' -File -ErrorAction SilentlyContinue)
    $setup = Join-Path $PackageDir 'setup.exe'
    if ($msi.Count -gt 1) { $missing += "exactly one .msi (found $($msi.Count))" }
    if ($msi.Count -eq 1) { $script:InstallMethod = 'msi'; $script:InstallerName = $msi[0].Name }
    elseif (Test-Path -LiteralPath $setup -PathType Leaf) { $script:InstallMethod = 'nsis'; $script:InstallerName = 'setup.exe' }
    else { $script:InstallMethod = 'copy'; $script:InstallerName = '' }
    $version = ''
    if ($missing.Count -eq 0) {
        $v = Invoke-AccNative -FilePath (Join-Path $PackageDir 'nlbctld.exe') -ArgumentList @('--version') -TimeoutSec 15
        $version = ($v.Out + $v.Err).Trim()
    }
    Add-Check 'the package folder has what this run needs' ($missing.Count -eq 0) `
    ('{0}: install by {1}{2}; nlbctld --version: {3}{4}' -f $PackageDir, $script:InstallMethod,
        $(if ($script:InstallerName) { " ($($script:InstallerName))" } else { ' (copy the binaries)' }), $version,
        $(if ($missing.Count) { '; missing: ' + ($missing -join ', ') } else { '' }))

    # Remoting
    foreach ($k in @('n1', 'n2')) {
        $h = $script:H[$k]
        try {
            [void] (Get-HostSession $k)
            $info = Invoke-Remote $k {
                [pscustomobject]@{
                    Name = $env:COMPUTERNAME; ProgramData = $env:ProgramData
                    PS = "$($PSVersionTable.PSVersion)"
                    OS = "$((Get-CimInstance -ClassName Win32_OperatingSystem).Caption)"
                }
            } @() 60
            $h.Name = "$($info.Name)"
            $h.ProgramData = "$($info.ProgramData)"
            Add-Check "remoting to $($h.Target) works" $true ('{0}: {1}, PowerShell {2}' -f $info.Name, $info.OS, $info.PS)
        } catch {
            Add-Check "remoting to $($h.Target) works" $false (Format-Error $_)
        }
    }
    if (-not $script:H.n1.Name -or -not $script:H.n2.Name) { return }
    $names = @($script:H.n1.Name, $script:H.n2.Name, $script:H.w.Name)
    Add-Check 'three different hosts: node1, node2, witness' (@($names | Select-Object -Unique).Count -eq 3) ($names -join ', ')
    $script:AppName = if ($AppService) { $AppService } else { $STANDIN_SERVICE }

    # Addresses
    foreach ($k in @('n1', 'n2')) {
        $h = $script:H[$k]
        if (-not $h.Address) {
            $h.Address = "$(@([System.Net.Dns]::GetHostAddresses($h.Target) | Where-Object { $_.AddressFamily -eq 'InterNetwork' }) | Select-Object -First 1)"
        }
    }
    if (-not $script:H.w.Address -and $script:H.n1.Address) {
        $route = @(Find-NetRoute -RemoteIPAddress $script:H.n1.Address -ErrorAction SilentlyContinue)
        $script:H.w.Address = "$(@($route | ForEach-Object { Get-AccValue $_ @('IPAddress') } | Where-Object { $_ }) | Select-Object -First 1)"
    }
    $addrOk = $true
    $addrLines = @()
    foreach ($k in @('n1', 'n2')) {
        $h = $script:H[$k]
        $own = @()
        if ($h.Address) { $own = @(Invoke-Remote $k { @(Get-NetIPAddress -AddressFamily IPv4 | ForEach-Object { "$($_.IPAddress)" }) } @() 60) }
        $good = [bool] $h.Address -and ($own -contains $h.Address) -and $h.Address -notin @($Vip, $ClusterIp)
        if (-not $good) { $addrOk = $false }
        $addrLines += ('{0}: {1} ({2})' -f $h.Name, $h.Address, $(if ($good) { 'one of its own addresses, not the VIP' } else { "NOT usable: its addresses are $($own -join ', '); give -$(if ($k -eq 'n1') { 'Node1' } else { 'Node2' })Address" }))
    }
    $addrLines += ('witness: {0}' -f $(if ($script:H.w.Address) { $script:H.w.Address } else { 'unknown: give -WitnessAddress' }))
    if (-not $script:H.w.Address) { $addrOk = $false }
    Add-Check "addresses for nlbctl's links" $addrOk ($addrLines -join "`n")
    if (-not $addrOk) { return }

    # NLB on each node
    $facts = @{}
    foreach ($k in @('n1', 'n2')) {
        $f = Invoke-Remote $k {
            param($ci, $appService)
            $ErrorActionPreference = 'Stop'
            $o = [ordered]@{ Features = ''; NlbFeature = $false; Module = $false; NodeName = ''; NodeState = ''; Interface = ''; Members = @(); MemberText = ''; Vips = ''; Error = ''; App = '' }
            try {
                $feat = @(Get-WindowsFeature -Name @('NLB', 'RSAT-NLB') -ErrorAction Stop)
                $o.Features = (@($feat | ForEach-Object { '{0} {1}' -f $_.Name, $(if ($_.Installed) { 'installed' } else { 'NOT installed' }) }) -join ', ')
                $o.NlbFeature = @($feat | Where-Object { $_.Name -eq 'NLB' -and $_.Installed }).Count -eq 1
            } catch { $o.Features = 'Get-WindowsFeature failed: ' + $_.Exception.Message }
            $o.Module = $null -ne (Get-Module -ListAvailable -Name NetworkLoadBalancingClusters)
            try {
                $ctx = Get-AccNlbContext $ci
                $o.NodeName = $ctx.NodeName
                $o.NodeState = "$(Get-AccValue $ctx.Node @('State'))"
                $o.Interface = $ctx.Interface
                $o.Members = @($ctx.Nodes | ForEach-Object { "$(Get-AccValue $_ @('Name'))" })
                $o.MemberText = (@($ctx.Nodes | ForEach-Object { '{0} ({1}, host priority {2})' -f (Get-AccValue $_ @('Name')), (Get-AccValue $_ @('State')), (Get-AccValue $_ @('HostPriority')) }) -join ', ')
                try { $o.Vips = (@(Get-NlbClusterVip -ErrorAction Stop | ForEach-Object { "$(Get-AccValue $_ @('IPAddress', 'IP'))" }) -join ', ') } catch { $o.Vips = '(Get-NlbClusterVip failed)' }
            } catch { $o.Error = $_.Exception.Message }
            if ($appService) {
                $a = Get-Service -Name $appService -ErrorAction SilentlyContinue
                $o.App = if ($null -eq $a) { 'missing' } else { "$($a.Status)" }
            }
            [pscustomobject] $o
        } @($ClusterIp, $AppService) 120
        $facts[$k] = $f
        $h = $script:H[$k]
        $h.NlbInterface = "$($f.Interface)"
        Add-Check "NLB is installed on $($h.Name)" ($f.NlbFeature -and $f.Module) ('{0}; NetworkLoadBalancingClusters module: {1}' -f $f.Features, $(if ($f.Module) { 'present' } else { 'MISSING (install RSAT-NLB)' }))
        $converged = (-not $f.Error) -and ($f.NodeState -match 'Converged')
        Add-Check "$($h.Name) is a converged host of cluster $ClusterIp" $converged `
        $(if ($f.Error) { $f.Error } else { 'NLB node {0}, state {1}, interface {2}; cluster members: {3}; VIPs: {4}' -f $f.NodeName, $f.NodeState, $f.Interface, $f.MemberText, $f.Vips })
        if ($AppService) {
            Add-Check "application service $AppService runs on $($h.Name)" ($f.App -eq 'Running') "Get-Service $($AppService): $($f.App)"
        }
    }
    if ($facts.n1.Error -or $facts.n2.Error) { return }
    $same = ($facts.n1.Members -contains $facts.n2.NodeName) -and ($facts.n2.Members -contains $facts.n1.NodeName)
    Add-Check 'both nodes belong to the same NLB cluster' $same ('{0} sees {1}; {2} sees {3}' -f $script:H.n1.Name, $facts.n1.MemberText, $script:H.n2.Name, $facts.n2.MemberText)

    # The port rule, and the state found at start
    $r1 = Read-NodePort 'n1'
    $r2 = Read-NodePort 'n2'
    $script:Initial = @{ n1 = $r1.State; n2 = $r2.State }
    $ruleOk = $r1.State -notin @('norule', 'nofield') -and $r2.State -notin @('norule', 'nofield') -and $r1.Signature -eq $r2.Signature
    Add-Check "a port rule holding port $Port for $Vip exists, identical on both nodes" $ruleOk `
    ("{0}: {1}`n{2}: {3}`nall rules holding the port on {0}: {4}" -f $r1.Host, $r1.Signature, $r2.Host, $r2.Signature, $r1.AllRules)
    foreach ($r in @($r1, $r2)) {
        $agree = $r.WmiState -eq $r.State
        $text = ("found at start: {0}`nthe rule object's properties: {1}`nWMI: {2} {3}" -f (Format-Port $r), $r.Props, $r.WmiState, $r.WmiDetail)
        if ($r.WmiState -in @('enabled', 'disabled', 'draining', 'notfound', 'norule')) {
            Add-Check ("Get-NlbClusterPortRule .{0} and WMI PortState agree on {1}" -f $r.Field, $r.Host) $agree $text
        } else {
            Add-Info ("WMI could not be read on {0}; the cmdlet's .{1} is used alone" -f $r.Host, $r.Field) $text
        }
    }
    $acc = Join-Path $env:ProgramData $ACC_DIR_NAME
    $initialPath = Join-Path $acc 'initial-ports.json'
    New-Item -ItemType Directory -Force -Path $acc | Out-Null
    if (Test-Path -LiteralPath $initialPath) {
        $prev = Get-Content -Raw -LiteralPath $initialPath | ConvertFrom-Json
        Add-Info 'the NLB port state before the first run is already on record' ('{0} (recorded {1}); step 8 restores that, not what is seen now ({2} {3}, {4} {5})' -f $initialPath, $prev.recorded, $r1.Host, $r1.State, $r2.Host, $r2.State)
    } else {
        @{ recorded = (Get-Date -Format 's'); n1 = $script:H.n1.Name; n1State = $r1.State; n2 = $script:H.n2.Name; n2State = $r2.State } |
            ConvertTo-Json | Set-Content -LiteralPath $initialPath -Encoding UTF8
        Add-Info 'the NLB port state found at start, kept for step 8' ('{0} {1}, {2} {3} (in {4})' -f $r1.Host, $r1.State, $r2.Host, $r2.State, $initialPath)
    }

    # Reachability and the adapters that carry nlbctl's links
    foreach ($k in @('n1', 'n2')) {
        $h = $script:H[$k]
        $t = Test-NetConnection -ComputerName $h.Address -Port 5985 -WarningAction SilentlyContinue
        Add-Info "the witness reaches $($h.Name) at $($h.Address)" ('Test-NetConnection {0} -Port 5985 (WinRM): TcpTestSucceeded {1}, via {2}' -f $h.Address, $t.TcpTestSucceeded, $t.InterfaceAlias)
    }
    foreach ($k in @('n1', 'n2')) {
        $h = $script:H[$k]
        $peer = $script:H[(Get-Other $k)]
        $routes = Invoke-Remote $k {
            param($witness, $peer, $sip)
            $ErrorActionPreference = 'Stop'
            $alias = {
                param($ip)
                "$(@(Find-NetRoute -RemoteIPAddress $ip -ErrorAction Stop | ForEach-Object { Get-AccValue $_ @('InterfaceAlias') } | Where-Object { $_ }) | Select-Object -First 1)"
            }
            $ping = Test-NetConnection -ComputerName $peer -WarningAction SilentlyContinue
            $tcp = Test-NetConnection -ComputerName $peer -Port 5985 -WarningAction SilentlyContinue
            [pscustomobject]@{
                ToWitness = (& $alias $witness)
                ToPeer    = (& $alias $peer)
                PeerPing  = [bool] $ping.PingSucceeded
                PeerTcp   = [bool] $tcp.TcpTestSucceeded
                Adapters  = (@(Get-NetAdapter | ForEach-Object { '{0} ({1})' -f $_.Name, $_.Status }) -join ', ')
                SipAlias  = $(if ($sip) { [bool] (Get-NetAdapter -Name $sip -ErrorAction SilentlyContinue) } else { $false })
            }
        } @($script:H.w.Address, $peer.Address, $SipNicAlias) 120
        $h.LinkAliases = @(@($routes.ToWitness, $routes.ToPeer) | Where-Object { $_ } | Select-Object -Unique)
        Add-Check "$($h.Name) reaches the other node at $($peer.Address)" ($routes.PeerPing -or $routes.PeerTcp) `
        ('ping: {0}; TCP 5985: {1} (TCP 7401 is tested in step 1, once nlbctld listens)' -f $routes.PeerPing, $routes.PeerTcp)
        $nlbOnLink = $h.LinkAliases -contains $h.NlbInterface
        Add-Info "adapters W3 will disable on $($h.Name)" ('{0} (route to the witness {1}: {2}; to the peer {3}: {4}); the NLB interface {5} is {6}; adapters: {7}' -f `
            ($h.LinkAliases -join ', '), $script:H.w.Address, $routes.ToWitness, $peer.Address, $routes.ToPeer, $h.NlbInterface,
            $(if ($nlbOnLink) { 'among them (the node also leaves the NLB cluster during the cut)' } else { 'not among them' }), $routes.Adapters)
        if ($h.LinkAliases.Count -eq 0) { Add-Check "a link adapter is known on $($h.Name)" $false 'Find-NetRoute found no interface towards the witness or the peer' }
        if ($SipNicAlias) {
            $sipOk = $routes.SipAlias -and ($h.LinkAliases -notcontains $SipNicAlias)
            Add-Check "-SipNicAlias '$SipNicAlias' is an adapter on $($h.Name) that does not carry nlbctl's links" $sipOk `
            ('present: {0}; link adapters: {1}' -f $routes.SipAlias, ($h.LinkAliases -join ', '))
        }
    }

    # The SIP addresses the coordinator will probe ([sip_monitor], W4)
    if ($Node1SipAddress -or $Node2SipAddress -or $SipVip) {
        $complete = [bool] $Node1SipAddress -and [bool] $Node2SipAddress
        Add-Check 'the SIP monitor settings are complete and consistent' ($complete -and $SipTimeoutMs -lt $SipIntervalMs) `
        ('-Node1SipAddress {0}; -Node2SipAddress {1}; -SipVip {2} (vip needs both node addresses); interval_ms {3}, timeout_ms {4} (must be less than interval_ms), rise {5}, fall {6}' -f `
                $(if ($Node1SipAddress) { $Node1SipAddress } else { '(none)' }), $(if ($Node2SipAddress) { $Node2SipAddress } else { '(none)' }),
            $(if ($SipVip) { $SipVip } else { '(none)' }), $SipIntervalMs, $SipTimeoutMs, $SipRise, $SipFall)
        if ($complete) {
            foreach ($k in @('n1', 'n2')) {
                $h = $script:H[$k]
                $a = Split-SipAddress $(if ($k -eq 'n1') { $Node1SipAddress } else { $Node2SipAddress })
                $ips = @(Invoke-Remote $k {
                        @(Get-NetIPAddress -AddressFamily IPv4 | ForEach-Object { [pscustomobject]@{ Ip = "$($_.IPAddress)"; Alias = "$($_.InterfaceAlias)" } })
                    } @() 60)
                $mine = @($ips | Where-Object { $_.Ip -eq $a.Ip })
                if ($SipNicAlias) { $mine = @($mine | Where-Object { $_.Alias -eq $SipNicAlias }) }
                $ok = [bool] $a.Ip -and $a.Port -ge 1 -and $a.Port -le 65535 -and $a.Ip -notin @($Vip, $ClusterIp) -and $mine.Count -gt 0
                $where = if ($SipNicAlias) { " on '$SipNicAlias'" } else { '' }
                Add-Check ("{0}'s SIP address {1} is one of its own addresses{2}, not the VIP" -f $h.Name, $a.Text, $where) $ok `
                ('{0} is IPv4 {1}, port {2}; the addresses of {3}: {4}' -f $a.Text, $(if ($a.Ip) { $a.Ip } else { '(does not resolve)' }), $a.Port, $h.Name,
                    ((@($ips | ForEach-Object { '{0} ({1})' -f $_.Ip, $_.Alias })) -join ', '))
            }
        }
    }
    foreach ($k in @('n1', 'n2')) { [void] (Measure-Offset $k) }
}

# ---- step 1: install -----------------------------------------------------------

function Invoke-Install {
    $standIn = -not $AppService
    $plan = @(
        @{ Key = 'w'; Role = 'coordinator'; Firewall = $COORD_PORT },
        @{ Key = 'n1'; Role = 'agent'; Firewall = $PEER_PORT },
        @{ Key = 'n2'; Role = 'agent'; Firewall = $PEER_PORT }
    )
    foreach ($p in $plan) {
        $k = $p.Key
        $h = $script:H[$k]
        $ini = New-Ini $p.Role $k
        Write-Log ('[{0}] config for role {1}:' -f $h.Name, $p.Role)
        Write-Block '      | ' (Hide-Key $ini)
        # Stage the package on the host.
        $files = @((Join-Path $PackageDir 'nlbctld.exe'), (Join-Path $PackageDir 'nlbctl.exe'))
        if ($script:InstallerName) { $files += (Join-Path $PackageDir $script:InstallerName) }
        if ($standIn -and $p.Role -eq 'agent') { $files += $script:StandinPath }
        $stage = Join-Path (Join-Path $h.ProgramData $ACC_DIR_NAME) 'package'
        if ($k -eq 'w') {
            New-Item -ItemType Directory -Force -Path $stage | Out-Null
            foreach ($f in $files) { Copy-Item -LiteralPath $f -Destination $stage -Force }
        } else {
            Invoke-Remote $k { param($d) New-Item -ItemType Directory -Force -Path $d | Out-Null } @($stage) 60 | Out-Null
            foreach ($f in $files) { Copy-Item -LiteralPath $f -Destination $stage -ToSession (Get-HostSession $k) -Force }
        }
        Write-Log ('[{0}] staged {1} in {2}' -f $h.Name, (($files | ForEach-Object { Split-Path -Leaf $_ }) -join ', '), $stage)
        $args1 = @{
            Role = $p.Role; Method = $script:InstallMethod; InstallerName = $script:InstallerName; Ini = $ini
            FirewallPort = $p.Firewall; StandIn = ($standIn -and $p.Role -eq 'agent'); AppService = $script:AppName
        }
        $r = Invoke-Remote $k $InstallBlock @($args1) 600
        foreach ($l in @($r.Log)) { Write-Log ('[{0}] {1}' -f $h.Name, $l) }
        if ($r.Ok) { $h.Nlbctl = "$($r.Nlbctl)" }
        $text = if ($r.Ok) { 'installed: {0}; nlbctld --check: {1}' -f $r.Exe, $r.CheckOut } else { $r.Error }
        Add-Check ('{0} installed as {1} ({2})' -f $h.Name, $p.Role, $script:InstallMethod) ([bool] $r.Ok) $text
        if ($r.Ok) {
            $restart = "$($r.FailureActions)" -match 'RESTART'
            Add-Check "the nlbctld service on $($h.Name) restarts on failure" $restart (("$($r.FailureActions)" -split "`r?`n" | Where-Object { $_.Trim() }) -join "`n")
        }
    }
    if (@($script:Current.Checks | Where-Object { $_.Result -eq 'FAIL' }).Count -gt 0) { return }

    # Start: the coordinator first, then the agents.
    foreach ($k in @('w', 'n1', 'n2')) {
        $r = Invoke-Remote $k $ServiceBlock @($SERVICE, 'start', 30) 90
        Write-Log ('[{0}] ran: start service {1}; saw: {2}' -f $script:H[$k].Name, $SERVICE, $r.Said)
        $tail = ''
        if (-not $r.Ok) { $tail = "`nnlbctld.log:`n" + (Invoke-Remote $k { Get-AccLogTail 20 } @() 60) }
        Add-Check "nlbctld runs on $($script:H[$k].Name)" ([bool] $r.Ok) ($r.Said + $tail)
    }

    # The ports, now that something listens on them.
    $w = $script:H.w
    foreach ($k in @('n1', 'n2')) {
        $h = $script:H[$k]
        $peer = $script:H[(Get-Other $k)]
        $t = Invoke-Remote $k {
            param($wa, $wp, $pa, $pp)
            $a = Test-NetConnection -ComputerName $wa -Port $wp -WarningAction SilentlyContinue
            $b = Test-NetConnection -ComputerName $pa -Port $pp -WarningAction SilentlyContinue
            [pscustomobject]@{ Coord = [bool] $a.TcpTestSucceeded; Peer = [bool] $b.TcpTestSucceeded }
        } @($w.Address, $COORD_PORT, $peer.Address, $PEER_PORT) 120
        Add-Check ('{0} reaches the coordinator at {1}:{2}' -f $h.Name, $w.Address, $COORD_PORT) $t.Coord "Test-NetConnection on $($h.Name): TcpTestSucceeded $($t.Coord)"
        Add-Check ('{0} reaches its peer at {1}:{2}' -f $h.Name, $peer.Address, $PEER_PORT) $t.Peer "Test-NetConnection on $($h.Name): TcpTestSucceeded $($t.Peer)"
        $x = Test-NetConnection -ComputerName $h.Address -Port $PEER_PORT -WarningAction SilentlyContinue
        Add-Check ('the witness reaches {0}:{1}' -f $h.Address, $PEER_PORT) ([bool] $x.TcpTestSucceeded) "Test-NetConnection on the witness: TcpTestSucceeded $($x.TcpTestSucceeded)"
    }

    # The coordinator's SIP probes (UDP, so Test-NetConnection cannot tell):
    # a node that never answers can never be primary, so the later steps
    # would fail for a reason that has nothing to do with them.
    if ($script:SipMonitor) {
        $limit = [math]::Ceiling(($SipRise * $SipIntervalMs + $SipTimeoutMs) / 1000.0) + 15
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $answering = $false
        $st = $null
        do {
            $st = Get-CoordStatus
            $words = @(@($script:H.n1.Name, $script:H.n2.Name) | ForEach-Object { Get-ProbeWord (Get-CoordNode $st $_) })
            if (@($words | Where-Object { $_ -eq 'answering' }).Count -eq 2) { $answering = $true; break }
            Start-Sleep -Milliseconds 500
        } while ($sw.Elapsed.TotalSeconds -lt $limit)
        Add-Check "the coordinator's SIP probes get answers from both nodes ($Node1SipAddress, $Node2SipAddress)" $answering `
        ('after {0:0.0} s (limit {1} s): {2}{3}' -f $sw.Elapsed.TotalSeconds, $limit, (Format-Coord $st),
            $(if ($answering) { '' } else { "`nnothing answers SIP OPTIONS over UDP there from the witness: the application must be a SIP server listening on those addresses (the stand-in is not), and the nodes' firewalls must let UDP in from the witness" }))
    }
}

# ---- step 2: W1 election -------------------------------------------------------

function Invoke-Election {
    $n1 = $script:H.n1.Name
    $w = Wait-Stable -ExpectPrimary $n1 -TimeoutSec $ELECTION_WAIT_S
    Add-Check "the coordinator elects $n1 (preferred) and is stable" $w.Ok ('after {0} s: {1}' -f $w.Seconds, (Format-Coord $w.Status))
    if (-not $w.Ok) { return }
    # Stable means stays so: six more looks over three seconds, same primary and epoch.
    $epoch = $w.Status.S.epoch
    $changes = @()
    for ($i = 0; $i -lt 6; $i++) {
        Start-Sleep -Milliseconds 500
        $st = Get-CoordStatus
        if (-not (Test-Stable $st $n1) -or $st.S.epoch -ne $epoch) { $changes += (Format-Coord $st) }
    }
    Add-Check 'the election holds for 3 s (same primary, same epoch)' ($changes.Count -eq 0) $(if ($changes.Count) { $changes -join "`n" } else { "epoch $epoch throughout" })
    [void] (Test-PortState @{ n1 = 'enabled'; n2 = 'disabled' } "Get-NlbClusterPortRule: enabled on $n1, disabled on $($script:H.n2.Name)")
    $h = Invoke-HostNative 'w' $script:H.w.Nlbctl @('history') 15
    Add-Info 'coordinator history' $h.Out
}

# ---- step 3: W1 switchover and back --------------------------------------------

# One switchover from From to To through `nlbctl switchover [--to]` on the
# witness, with both nodes' ports sampled throughout.
function Test-Switchover {
    param([string] $From, [string] $To, [string[]] $Extra)
    $fromName = $script:H[$From].Name
    $toName = $script:H[$To].Name
    $before = Wait-Stable -ExpectPrimary $fromName -TimeoutSec 30
    if (-not $before.Ok) {
        Add-Check "the pair is stable with $fromName primary before the switchover" $false (Format-Coord $before.Status)
        return
    }
    $epoch = [long] $before.Status.S.epoch
    $oFrom = Measure-Offset $From
    $oTo = Measure-Offset $To
    $jobFrom = Start-PortWatch $From 'disabled' 50 1000
    $jobTo = Start-PortWatch $To 'enabled' 50 1000
    $r = Invoke-HostNative 'w' $script:H.w.Nlbctl (@('switchover') + $Extra + @('--timeout', '30')) 45
    $sFrom = Complete-PortWatch $jobFrom $From $oFrom.Offset 70
    $sTo = Complete-PortWatch $jobTo $To $oTo.Offset 70
    Add-Check ('nlbctl switchover {0}exits 0' -f $(if ($Extra.Count) { ($Extra -join ' ') + ' ' } else { '' })) ($r.ExitCode -eq 0) `
    ('exit {0} after {1} ms: {2}' -f $r.ExitCode, (ConvertTo-Ms ($r.T1 - $r.T0)), ($r.Out + ' ' + $r.Err).Trim())
    [void] (Test-PortState @{ $To = 'enabled'; $From = 'disabled' } "Get-NlbClusterPortRule: enabled on $toName, disabled on $fromName" 5)
    $after = Wait-Stable -ExpectPrimary $toName -TimeoutSec 15
    $epochAfter = if ($after.Status.S) { [long] $after.Status.S.epoch } else { -1 }
    Add-Check "the coordinator is stable with $toName primary, one epoch later" ($after.Ok -and $epochAfter -eq $epoch + 1) `
    ('epoch {0} -> {1}; {2}' -f $epoch, $epochAfter, (Format-Coord $after.Status))
    # Break before make, as sampled: the new primary's first enabled reading
    # must not come before the old primary's last enabled one.
    $oldLast = Get-LastSample $sFrom 'enabled'
    $newFirst = Get-FirstSample $sTo 'enabled'
    $unc = [long](($oFrom.UncMs + $oTo.UncMs) * 10000)
    if ($null -eq $newFirst) {
        Add-Check "the sampled $toName port reads enabled" $false 'no enabled reading during the watch'
    } elseif ($null -eq $oldLast) {
        Add-Check 'no moment with both ports enabled (sampled)' $true ("$fromName never read enabled during the watch (it was disabled before its first sample); $toName first read enabled at its sample {0} of {1}" -f (@($sTo).IndexOf($newFirst) + 1), @($sTo).Count)
    } else {
        $overlap = $newFirst.T1 + $unc -lt $oldLast.T0
        $gap = ConvertTo-Ms ($newFirst.T1 - $oldLast.T0)
        Add-Check 'no moment with both ports enabled (sampled)' (-not $overlap) `
        ("{0}'s last enabled reading began at t0; {1}'s first enabled reading ended {2} ms later (clock uncertainty {3} ms; a positive number means no overlap was seen, within the sampling resolution)" -f $fromName, $toName, $gap, (ConvertTo-Ms $unc))
    }
}

function Invoke-SwitchoverTest {
    $n1 = $script:H.n1.Name
    $n2 = $script:H.n2.Name
    Test-Switchover 'n1' 'n2' @()
    Test-Switchover 'n2' 'n1' @('--to', $n1)
    $h = Invoke-HostNative 'w' $script:H.w.Nlbctl @('history') 15
    Add-Info 'coordinator history' $h.Out
}

# ---- step 4: W2 application failure ---------------------------------------------

function Invoke-AppFailure {
    $w = Wait-Stable -TimeoutSec 30
    if (-not $w.Ok) { Add-Check 'the pair is stable before the test' $false (Format-Coord $w.Status); return }
    $P = Get-KeyOf $w.Status.S.primary
    $B = Get-Other $P
    $pName = $script:H[$P].Name
    $bName = $script:H[$B].Name
    $epoch = [long] $w.Status.S.epoch
    Add-Info 'plan' "primary $pName, backup $($bName): Stop-Service $($script:AppName) on $pName"
    $oP = Measure-Offset $P
    $oB = Measure-Offset $B
    $job = Start-PortWatch $B 'enabled' 30 500
    $stop = Invoke-Remote $P {
        param($n)
        $ErrorActionPreference = 'Stop'
        $t0 = [DateTime]::UtcNow.Ticks
        Stop-Service -Name $n -Force
        $t1 = [DateTime]::UtcNow.Ticks
        [pscustomobject]@{ T0 = $t0; T1 = $t1; Status = "$((Get-Service -Name $n).Status)" }
    } @($script:AppName) 90
    Write-Log ('[{0}] ran: Stop-Service {1} -Force; saw: {2} after {3} ms' -f $pName, $script:AppName, $stop.Status, (ConvertTo-Ms ($stop.T1 - $stop.T0)))
    $samples = Complete-PortWatch $job $B $oB.Offset 60
    $first = Get-FirstSample $samples 'enabled'
    $stopAt = [long] $stop.T0 - $oP.Offset
    if ($null -eq $first) {
        Add-Check "$bName's port enabled within $AppFailureBoundMs ms of Stop-Service" $false 'never read enabled within 30 s'
    } else {
        $ms = ConvertTo-Ms ($first.T1 - $stopAt)
        Add-Check "$bName's port enabled within $AppFailureBoundMs ms of Stop-Service" ($ms -le $AppFailureBoundMs) `
        ('{0} ms from the start of Stop-Service on {1} to the end of the first enabled reading on {2} (an upper bound; clock uncertainty +/- {3} ms)' -f $ms, $pName, $bName, ($oP.UncMs + $oB.UncMs))
    }
    [void] (Test-PortState @{ $B = 'enabled'; $P = 'disabled' } "Get-NlbClusterPortRule: enabled on $bName, disabled on $pName" 5)
    $st = Wait-Stable -ExpectPrimary $bName -TimeoutSec 15
    Add-Check "the coordinator made $bName primary" $st.Ok (Format-Coord $st.Status)

    # The application comes back: the node becomes an eligible backup, no failback.
    $start = Invoke-Remote $P { param($n) Start-Service -Name $n; "$((Get-Service -Name $n).Status)" } @($script:AppName) 90
    Write-Log ('[{0}] ran: Start-Service {1}; saw: {2}' -f $pName, $script:AppName, $start)
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $healthy = $false
    $st = $null
    while ($sw.Elapsed.TotalSeconds -lt 20) {
        $st = Get-CoordStatus
        $n = Get-CoordNode $st $pName
        if ($null -ne $n -and $n.app -eq 'healthy') { $healthy = $true; break }
        Start-Sleep -Milliseconds 250
    }
    Add-Check "the coordinator sees $pName's application healthy again" $healthy ('after {0:0.0} s: {1}' -f $sw.Elapsed.TotalSeconds, (Format-Coord $st))
    $moved = @()
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    while ($sw.Elapsed.TotalSeconds -lt 10) {
        $st = Get-CoordStatus
        if ($null -eq $st.S -or $st.S.primary -ne $bName) { $moved += (Format-Coord $st) }
        Start-Sleep -Milliseconds 500
    }
    Add-Check "no failback: $bName stays primary for 10 s" ($moved.Count -eq 0) $(if ($moved.Count) { $moved -join "`n" } else { Format-Coord $st })
    [void] (Test-PortState @{ $B = 'enabled'; $P = 'disabled' } "Get-NlbClusterPortRule after 10 s: enabled on $bName, disabled on $pName")
    $final = Get-CoordStatus
    if ($null -ne $final.S) {
        Add-Check 'exactly one new epoch for the failover' ([long] $final.S.epoch -eq $epoch + 1) ('epoch {0} -> {1}' -f $epoch, $final.S.epoch)
    }
}

# ---- step 5: W3 host disconnected ----------------------------------------------

function Invoke-HostLoss {
    $w = Wait-Stable -TimeoutSec 30
    if (-not $w.Ok) { Add-Check 'the pair is stable before the test' $false (Format-Coord $w.Status); return }
    $P = Get-KeyOf $w.Status.S.primary
    $B = Get-Other $P
    $pName = $script:H[$P].Name
    $bName = $script:H[$B].Name
    $aliases = @($script:H[$P].LinkAliases)
    if ($aliases.Count -eq 0) { Add-Check "a link adapter is known on $pName" $false 'see step 0'; return }
    Add-Info 'plan' ("primary {0}, backup {1}: disable {2} on {0} for {3} s" -f $pName, $bName, ($aliases -join ', '), $CutSeconds)
    $oP = Measure-Offset $P
    $oB = Measure-Offset $B
    $id = 'w3-' + (Get-Date -Format 'yyyyMMddHHmmss')
    $job = Start-PortWatch $B 'enabled' ($CUT_DELAY_S + $CutSeconds + 30) 500
    [void] (Start-NicCut $P $id $aliases $CutSeconds)
    # The coordinator's view while the backup's watch runs.
    $polls = New-Object System.Collections.Generic.List[object]
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $last = ''
    while ($job.State -eq 'Running' -and $sw.Elapsed.TotalSeconds -lt ($CUT_DELAY_S + $CutSeconds + 40)) {
        $st = Get-CoordStatus
        $n = Get-CoordNode $st $pName
        $polls.Add([pscustomobject]@{
                T0 = $st.T0; Primary = $(if ($st.S) { $st.S.primary } else { $null })
                Link = $(if ($n) { $n.link } else { '' }); HeardMs = $(if ($n) { $n.last_heard_ms } else { $null })
            })
        $text = Format-Coord $st
        $short = $text -replace 'heard \d+ ms ago', 'heard ...'
        if ($short -ne $last) { Write-Log "  seen: $text"; $last = $short }
        Start-Sleep -Milliseconds 250
    }
    $samples = Complete-PortWatch $job $B $oB.Offset 30

    # When the coordinator last heard the primary: the cut came at most one
    # heartbeat later, so failover times measured from here are upper bounds.
    $silent = @($polls | Where-Object { $null -ne $_.HeardMs -and [long] $_.HeardMs -ge 1000 })
    $cutAt = $null
    if ($silent.Count -gt 0) {
        $cutAt = [long] (@($silent | ForEach-Object { [long] $_.T0 - [long] $_.HeardMs * 10000 }) | Measure-Object -Minimum).Minimum
    }
    Add-Check "the coordinator lost $pName" ($null -ne $cutAt) $(if ($null -ne $cutAt) {
            'it last heard {0} {1} ms before the first poll that saw the silence' -f $pName, ($silent | Select-Object -First 1).HeardMs
        } else {
            "it never went 1 s without hearing $($pName): the disabled adapters ($($aliases -join ', ')) do not carry the link to the coordinator, or the cut did not happen (see the task log below)"
        })
    $first = Get-FirstSample $samples 'enabled'
    if ($null -ne $cutAt) {
        if ($null -eq $first) {
            Add-Check "$bName's port enabled within $HostLossBoundMs ms of the cut" $false 'never read enabled during the watch'
        } else {
            $ms = ConvertTo-Ms ($first.T1 - $cutAt)
            Add-Check "$bName's port enabled within $HostLossBoundMs ms of the cut" ($ms -le $HostLossBoundMs) `
            ('{0} ms from the last message the coordinator had from {1} to the end of the first enabled reading on {2} (an upper bound; clock uncertainty +/- {3} ms)' -f $ms, $pName, $bName, $oB.UncMs)
        }
    }

    # The cut node comes back; what did it do while alone?
    $ret = Wait-NicReturn $P $id $CutSeconds
    $marks = @($ret.Log | ForEach-Object {
            $t = [long] $_.T - $oP.Offset
            $rel = if ($null -ne $cutAt) { '{0:+0;-0} ms from the last message heard' -f (ConvertTo-Ms ($t - $cutAt)) } else { '' }
            '{0} {1}' -f $_.What, $rel
        })
    Add-Check "$pName is back (its task re-enabled $($aliases -join ', '))" $ret.Back ("task log (node clock converted with the offset measured before the cut):`n" + ($marks -join "`n"))
    if (-not $ret.Back) { return }
    $oP2 = Measure-Offset $P
    $hist = Invoke-HostNative $P $script:H[$P].Nlbctl @('history', '--json') 15
    $entries = @()
    # (Windows PowerShell's ConvertFrom-Json emits a JSON array as one object: enumerate it.)
    if ($hist.ExitCode -eq 0) { try { $entries = @(($hist.Out | ConvertFrom-Json) | ForEach-Object { $_ }) } catch { $entries = @() } }
    $fence = @($entries | Where-Object { "$($_.change)" -match 'isolated' }) | Select-Object -First 1
    if ($null -eq $fence) {
        Add-Check "$pName fenced itself while cut off (its nlbctl history)" $false ("no 'isolated' transition in its history:`n" + $hist.Out)
    } else {
        $earliest = [long] $hist.T0 - [long] $fence.age_ms * 10000 - $oP2.Offset
        $latest = [long] $hist.T1 - [long] $fence.age_ms * 10000 - $oP2.Offset
        $thisCut = ($null -eq $cutAt) -or ($latest -ge $cutAt - 10000000)
        $rel = if ($null -ne $cutAt) { ConvertTo-Ms ($earliest - $cutAt) } else { 'n/a' }
        Add-Check "$pName fenced itself while cut off (its nlbctl history)" $thisCut ("'{0}', {1} ms after the last message the coordinator heard from it" -f $fence.change, $rel)
        if ($null -ne $first) {
            $unc = [long](($oP2.UncMs + $oB.UncMs) * 10000)
            $before = $earliest -le $first.T1 + $unc
            Add-Check "$pName decided to fence before $bName's port was enabled" $before `
            ('fence decided at most {0} ms before the end of {1}''s first enabled reading (negative: after it; clock uncertainty {2} ms)' -f (ConvertTo-Ms ($first.T1 - $earliest)), $bName, (ConvertTo-Ms $unc))
        }
    }
    Add-Info "$pName's nlbctld.log, last lines" (Invoke-Remote $P { Get-AccLogTail 40 } @() 60)
    $st = Wait-Stable -ExpectPrimary $bName -TimeoutSec $STABLE_WAIT_S
    Add-Check "after reconnection the coordinator is stable with $bName primary and $pName backup" $st.Ok (Format-Coord $st.Status)
    [void] (Test-PortState @{ $B = 'enabled'; $P = 'disabled' } "after reconnection, exactly one port enabled: $bName (Get-NlbClusterPortRule)" 15)
}

# ---- step 6: W4/W5 SIP adapter unplugged ---------------------------------------

function Invoke-SipNicCut {
    $boundMs = Get-SipBoundMs
    $boundText = '{0} ms = fall {1} x interval_ms {2} + timeout_ms {3} + margin {4} (-SipMarginMs)' -f $boundMs, $SipFall, $SipIntervalMs, $SipTimeoutMs, $SipMarginMs
    if ($SipCutSeconds * 1000 -le $boundMs + 2000) {
        Add-Check 'the SIP adapter stays down longer than the W4 bound' $false `
        ('-SipCutSeconds {0}: the adapter would come back before the W4 bound ({1}) plus 2 s has passed; raise -SipCutSeconds' -f $SipCutSeconds, $boundText)
        return
    }
    $w = Wait-Stable -TimeoutSec 30
    if (-not $w.Ok) { Add-Check 'the pair is stable before the test' $false (Format-Coord $w.Status); return }
    $P = Get-KeyOf $w.Status.S.primary
    $B = Get-Other $P
    $pName = $script:H[$P].Name
    $bName = $script:H[$B].Name
    $pSip = if ($P -eq 'n1') { $Node1SipAddress } else { $Node2SipAddress }
    $bSip = if ($B -eq 'n1') { $Node1SipAddress } else { $Node2SipAddress }
    $epoch = [long] $w.Status.S.epoch
    # Both nodes answer the probes first (a node back from an earlier step
    # needs rise answers in a row), or the cut proves nothing.
    $limit = [math]::Ceiling(($SipRise * $SipIntervalMs + $SipTimeoutMs) / 1000.0) + 15
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $st = $w.Status
    do {
        $words = @(@($pName, $bName) | ForEach-Object { Get-ProbeWord (Get-CoordNode $st $_) })
        $bothAnswer = @($words | Where-Object { $_ -eq 'answering' }).Count -eq 2
        if ($bothAnswer -or $sw.Elapsed.TotalSeconds -ge $limit) { break }
        Start-Sleep -Milliseconds 500
        $st = Get-CoordStatus
    } while ($true)
    Add-Check "before the cut, the coordinator's SIP probes get answers from both nodes" $bothAnswer `
    ('after {0:0.0} s (limit {1} s): {2}' -f $sw.Elapsed.TotalSeconds, $limit, (Format-Coord $st))
    if (-not $bothAnswer) { return }
    Add-Info 'plan' ("primary {0}, backup {1}: disable '{2}' on {0} for {3} s; the coordinator probes {4} ({0}) and {5} ({1}); W4 bound {6}" -f `
            $pName, $bName, $SipNicAlias, $SipCutSeconds, $pSip, $bSip, $boundText)
    $oP = Measure-Offset $P
    $oB = Measure-Offset $B
    $id = 'w4-' + (Get-Date -Format 'yyyyMMddHHmmss')
    $job = Start-PortWatch $B 'enabled' ($CUT_DELAY_S + [int] [math]::Ceiling($boundMs / 1000.0) + 30) 500
    [void] (Start-NicCut $P $id @($SipNicAlias) $SipCutSeconds)
    # The coordinator's view until the adapter is due back. The cut node
    # stays reachable: its SIP adapter carries none of nlbctl's links.
    $polls = New-Object System.Collections.Generic.List[object]
    $cutRead = $null
    $cutReadError = ''
    $last = ''
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    while ($sw.Elapsed.TotalSeconds -lt ($CUT_DELAY_S + $SipCutSeconds)) {
        $st = Get-CoordStatus
        $poll = [pscustomobject]@{
            T0 = [long] $st.T0; Primary = $(if ($st.S) { $st.S.primary } else { $null })
            Epoch = $(if ($st.S) { [long] $st.S.epoch } else { -1 }); Probe = (Get-ProbeWord (Get-CoordNode $st $pName))
        }
        $polls.Add($poll)
        $text = Format-Coord $st
        $short = $text -replace 'heard \d+ ms ago', 'heard ...'
        if ($short -ne $last) { Write-Log ('  seen at +{0:0.0} s: {1}' -f $sw.Elapsed.TotalSeconds, $text); $last = $short }
        if ($null -eq $cutRead -and -not $cutReadError -and $poll.Primary -eq $bName -and
            @($polls | Where-Object { $_.Probe -eq 'not answering' }).Count -gt 0) {
            # What NLB itself says on the cut node once the other one serves
            # (in the seed's W4 the disable there fails or is ignored).
            try { $cutRead = Read-NodePort $P } catch { $cutReadError = Format-Error $_ }
        }
        Start-Sleep -Milliseconds 250
    }
    $samples = Complete-PortWatch $job $B $oB.Offset 60
    [void] (Test-PortState @{ $B = 'enabled' } "Get-NlbClusterPortRule as the cut ends: enabled on $bName")
    $ret = Wait-NicReturn $P $id $SipCutSeconds

    # When the cut began, in witness time: the task's mark just before
    # Disable-NetAdapter, so times measured from it are upper bounds.
    $disabling = @($ret.Log | Where-Object { $_.What -eq 'disabling' }) | Select-Object -First 1
    $disabled = @($ret.Log | Where-Object { $_.What -eq 'disabled' }) | Select-Object -First 1
    $reEnabled = @($ret.Log | Where-Object { $_.What -eq 'enabled' }).Count -gt 0
    $cutAt = if ($null -ne $disabling) { [long] $disabling.T - $oP.Offset } else { $null }
    $marks = @($ret.Log | ForEach-Object {
            $rel = if ($null -ne $cutAt) { ' ({0:+0;-0} ms from the start of the cut)' -f (ConvertTo-Ms ([long] $_.T - $oP.Offset - $cutAt)) } else { '' }
            '{0}{1}' -f $_.What, $rel
        })
    Add-Check "the cut task disabled '$SipNicAlias' on $pName and enabled it again" ($null -ne $disabled -and $reEnabled) `
    ("task log (node clock converted with the offset measured before the cut):`n" + ($marks -join "`n"))

    # W4: the backup serves within the bound, made primary by the
    # coordinator, whose probes saw the cut node stop answering.
    $sinceCut = {
        param([long] $T)
        if ($null -eq $cutAt) { return 'n/a' }
        return ('{0}' -f (ConvertTo-Ms ($T - $cutAt)))
    }
    $seen = "during the cut the coordinator showed: primary {0}; epochs {1} (before: {2}); {3}'s sip_probe {4}" -f `
    ((@($polls | ForEach-Object { $_.Primary }) | Select-Object -Unique) -join ', '),
    ((@($polls | ForEach-Object { $_.Epoch }) | Where-Object { $_ -ge 0 } | Select-Object -Unique) -join ', '), $epoch, $pName,
    ((@($polls | ForEach-Object { $_.Probe }) | Select-Object -Unique) -join ', ')
    $first = Get-FirstSample $samples 'enabled'
    $label = "W4: $bName's port enabled within $boundMs ms of the cut (Get-NlbClusterPortRule)"
    if ($null -eq $cutAt) {
        Add-Check $label $false "the cut task left no 'disabling' mark: the cut did not happen as planned (see its log above)"
    } elseif ($null -eq $first) {
        Add-Check $label $false ('{0} never read enabled during the watch ({1} samples); bound {2}' -f $bName, @($samples).Count, $boundText)
    } else {
        $ms = ConvertTo-Ms ($first.T1 - $cutAt)
        $disabledMs = if ($null -ne $disabled) { & $sinceCut ([long] $disabled.T - $oP.Offset) } else { 'n/a' }
        Add-Check $label ($ms -ge 0 -and $ms -le $boundMs) `
        ('{0} ms from the start of Disable-NetAdapter on {1} to the end of the first enabled reading on {2} (an upper bound: Disable-NetAdapter returned after {3} ms; clock uncertainty +/- {4} ms); bound {5}' -f `
                $ms, $pName, $bName, $disabledMs, ($oP.UncMs + $oB.UncMs), $boundText)
    }
    $promoted = @($polls | Where-Object { $_.Primary -eq $bName }) | Select-Object -First 1
    Add-Check "W4: the coordinator made $bName primary during the cut" ($null -ne $promoted) `
    $(if ($null -ne $promoted) { 'first seen {0} ms from the start of the cut; {1}' -f (& $sinceCut $promoted.T0), $seen } else { $seen })
    $down = @($polls | Where-Object { $_.Probe -eq 'not answering' }) | Select-Object -First 1
    Add-Check "W4: nlbctl status --json on the coordinator shows $pName's sip_probe 'not answering' ($pSip)" ($null -ne $down) `
    $(if ($null -ne $down) { 'first seen {0} ms from the start of the cut (the coordinator is polled about three times a second); {1}' -f (& $sinceCut $down.T0), $seen } else { $seen })
    if ($null -ne $cutRead) {
        $note = if ($cutRead.State -eq 'enabled') { 'its rule was still enabled there: the W5 check below is the repair of this stale rule' } else { 'its rule was not enabled there: W5 below has no stale rule to repair, it checks the end state' }
        Add-Info "what NLB said on $pName during the cut, once $bName was primary" ("{0}`n{1}" -f (Format-Port $cutRead), $note)
    } else {
        Add-Info "what NLB said on $pName during the cut" $(if ($cutReadError) { "could not be read: $cutReadError" } else { 'not read: the coordinator did not show both the switchover and the failed probes during the cut' })
    }
    if (-not $reEnabled) { return }

    # W5: the old primary's stale rule is repaired by reconcile, no failback,
    # no second switchover.
    [void] (Test-PortState @{ $B = 'enabled'; $P = 'disabled' } "W5: after '$SipNicAlias' returns, Get-NlbClusterPortRule: enabled on $bName, disabled on $pName" 30)
    $repairs = Invoke-Remote $P {
        $log = Join-Path $env:ProgramData 'nlbctl\nlbctld.log'
        if (Test-Path -LiteralPath $log) { (@(Get-Content -LiteralPath $log -Tail 200 | Where-Object { $_ -match 'drift|repair' }) | Select-Object -Last 10) -join "`n" } else { '' }
    } @() 60
    Add-Info "drift repairs in $pName's nlbctld.log (last 10)" $(if ($repairs) { $repairs } else { '(none)' })
    $limit = [math]::Ceiling(($SipRise * $SipIntervalMs + $SipTimeoutMs) / 1000.0) + 30
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $answering = $false
    $st = $null
    do {
        $st = Get-CoordStatus
        if ((Get-ProbeWord (Get-CoordNode $st $pName)) -eq 'answering') { $answering = $true; break }
        Start-Sleep -Milliseconds 500
    } while ($sw.Elapsed.TotalSeconds -lt $limit)
    Add-Check "after the adapter returns, the coordinator's probes get answers from $pName again" $answering `
    ('after {0:0.0} s (limit {1} s): {2}' -f $sw.Elapsed.TotalSeconds, $limit, (Format-Coord $st))
    $moved = @()
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    while ($sw.Elapsed.TotalSeconds -lt 10) {
        $st = Get-CoordStatus
        if ($null -eq $st.S -or $st.S.primary -ne $bName) { $moved += (Format-Coord $st) }
        Start-Sleep -Milliseconds 500
    }
    Add-Check "W5: no failback: $bName stays primary for 10 s (preempt = no)" ($moved.Count -eq 0) $(if ($moved.Count) { $moved -join "`n" } else { Format-Coord $st })
    [void] (Test-PortState @{ $B = 'enabled'; $P = 'disabled' } "Get-NlbClusterPortRule after 10 s more: enabled on $bName, disabled on $pName")
    $final = Get-CoordStatus
    $epochNow = if ($final.S) { [long] $final.S.epoch } else { -1 }
    Add-Check 'W5: no second switchover (one epoch for the whole event)' ($epochNow -eq $epoch + 1) ('epoch {0} -> {1}; {2}' -f $epoch, $epochNow, $seen)
    $h = Invoke-HostNative 'w' $script:H.w.Nlbctl @('history') 15
    Add-Info 'coordinator history (which report made it switch over: the failed probes, or the cut node out of the NLB cluster)' $h.Out
}

# ---- step 7: nlbctl port query against Get-NlbClusterPortRule -------------------

function Invoke-PortQuery {
    foreach ($k in @('n1', 'n2')) {
        $h = $script:H[$k]
        $before = Read-NodePort $k
        $q = Invoke-HostNative $k $h.Nlbctl @('port', 'query', ('{0}:{1}' -f $Vip, $Port), '--json', '--cluster-ip', $ClusterIp) 30
        $after = Read-NodePort $k
        $state = ''
        try { $state = "$(($q.Out | ConvertFrom-Json).state)" } catch { $state = '' }
        $stable = $before.State -eq $after.State
        $ok = $q.ExitCode -eq 0 -and $stable -and $state -eq $after.State
        Add-Check ('nlbctl port query {0}:{1} on {2} agrees with Get-NlbClusterPortRule' -f $Vip, $Port, $h.Name) $ok `
        ("nlbctl: exit {0}, state '{1}'`nbefore: {2}`nafter:  {3}{4}" -f $q.ExitCode, $state, (Format-Port $before), (Format-Port $after),
            $(if (-not $stable) { "`nthe port changed while it was being read: run the step again" } else { '' }))
    }
}

# ---- logs ---------------------------------------------------------------------

function Save-Logs {
    $dir = Join-Path $ResultsDir 'logs'
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    foreach ($k in @('w', 'n1', 'n2')) {
        $h = $script:H[$k]
        if (-not $h.Name) { continue }
        try {
            $src = Join-Path $h.ProgramData 'nlbctl\nlbctld.log'
            $dst = Join-Path $dir ('{0}-nlbctld.log' -f $h.Name)
            if ($k -eq 'w') {
                if (Test-Path -LiteralPath $src) { Copy-Item -LiteralPath $src -Destination $dst -Force }
            } else {
                $exists = Invoke-Remote $k { param($p) Test-Path -LiteralPath $p } @($src) 60
                if ($exists) { Copy-Item -Path $src -Destination $dst -FromSession (Get-HostSession $k) -Force }
            }
            if ($h.Nlbctl) {
                foreach ($what in @('status', 'history')) {
                    $r = Invoke-HostNative $k $h.Nlbctl @($what, '--json') 15 -Quiet
                    Set-Content -LiteralPath (Join-Path $dir ('{0}-{1}.json' -f $h.Name, $what)) -Value ($r.Out + $r.Err) -Encoding UTF8
                }
            }
            Write-Log ('saved the logs of {0} in {1}' -f $h.Name, $dir)
        } catch {
            Write-Log ('could not save the logs of {0}: {1}' -f $h.Name, (Format-Error $_)) 'Yellow'
        }
    }
}

# ---- step 8: cleanup ------------------------------------------------------------

$UninstallBlock = {
    param([string] $Role)
    $ErrorActionPreference = 'Stop'
    $said = New-Object System.Collections.Generic.List[string]
    $ok = $true
    $acc = Join-Path $env:ProgramData 'nlbctl-acceptance'
    $markerPath = Join-Path $acc 'installed.json'
    $mark = $null
    if (Test-Path -LiteralPath $markerPath) { $mark = Get-Content -Raw -LiteralPath $markerPath | ConvertFrom-Json }
    if ($null -eq $mark) {
        $said.Add("no $($markerPath): nothing on this host was installed by this script; left alone")
        return [pscustomobject]@{ Host = $env:COMPUTERNAME; Ok = $true; Log = $said.ToArray() }
    }
    $sc = Join-Path $env:SystemRoot 'System32\sc.exe'
    $dir = Join-Path $env:ProgramFiles 'nlbctl'
    $data = Join-Path $env:ProgramData 'nlbctl'
    $step = {
        param([string] $What, [scriptblock] $Do)
        try { & $Do; $said.Add("done: $What") } catch { $said.Add("FAILED: $What`: $($_.Exception.Message)"); Set-Variable -Name ok -Value $false -Scope 1 }
    }
    foreach ($svcName in @('nlbctld', 'NlbctlStandin')) {
        $s = Get-Service -Name $svcName -ErrorAction SilentlyContinue
        if ($null -ne $s -and "$($s.Status)" -ne 'Stopped') {
            & $step "stop $svcName" { $s.Stop(); $s.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(60)) }
        }
    }
    $method = "$(Get-AccValue $mark @('method'))"
    $installer = "$(Get-AccValue $mark @('installerName'))"
    if ($method -eq 'msi') {
        & $step "msiexec /x $installer" {
            $r = Invoke-AccNative (Join-Path $env:SystemRoot 'System32\msiexec.exe') @('/x', (Join-Path (Join-Path $acc 'package') $installer), '/qn', '/norestart') 300
            if ($r.ExitCode -ne 0 -and $r.ExitCode -ne 3010) { throw "exit $($r.ExitCode)" }
        }
    } elseif ($method -eq 'nsis') {
        $un = @(Get-ChildItem -LiteralPath $dir -Filter 'uninst*.exe' -File -ErrorAction SilentlyContinue) | Select-Object -First 1
        if ($null -ne $un) {
            & $step "$($un.Name) /S" {
                $r = Invoke-AccNative $un.FullName @('/S') 300
                if ($r.ExitCode -ne 0) { throw "exit $($r.ExitCode)" }
                Start-Sleep -Seconds 5   # NSIS uninstallers copy themselves to %TEMP% and return early
            }
        } else {
            $said.Add("no uninst*.exe in $dir; removing by hand")
        }
    }
    if ($null -ne (Get-Service -Name 'nlbctld' -ErrorAction SilentlyContinue) -and ($method -ne 'copy' -or [bool] (Get-AccValue $mark @('createdService')))) {
        & $step 'sc delete nlbctld' { $r = Invoke-AccNative $sc @('delete', 'nlbctld'); if ($r.ExitCode -ne 0) { throw "exit $($r.ExitCode) $($r.Out)" } }
    }
    if ([bool] (Get-AccValue $mark @('createdStandIn')) -and $null -ne (Get-Service -Name 'NlbctlStandin' -ErrorAction SilentlyContinue)) {
        & $step 'sc delete NlbctlStandin' { $r = Invoke-AccNative $sc @('delete', 'NlbctlStandin'); if ($r.ExitCode -ne 0) { throw "exit $($r.ExitCode) $($r.Out)" } }
    }
    $fw = "$(Get-AccValue $mark @('firewallRule'))"
    if ($fw) { & $step "remove firewall rule $fw" { Remove-NetFirewallRule -Name $fw -ErrorAction SilentlyContinue } }
    & $step 'remove scheduled tasks \nlbctl-acceptance\' {
        Get-ScheduledTask -TaskPath '\nlbctl-acceptance\' -ErrorAction SilentlyContinue | Unregister-ScheduledTask -Confirm:$false
    }
    if (Test-Path -LiteralPath $dir) { & $step "remove $dir" { Remove-Item -LiteralPath $dir -Recurse -Force } }
    $backup = "$(Get-AccValue $mark @('iniBackup'))"
    if ($backup -and (Test-Path -LiteralPath $backup)) {
        & $step "put back $backup as nlbctld.ini (the rest of $data is left)" { Copy-Item -LiteralPath $backup -Destination (Join-Path $data 'nlbctld.ini') -Force; Remove-Item -LiteralPath $backup -Force }
    } elseif (Test-Path -LiteralPath $data) {
        & $step "remove $data (config, epoch, log)" { Remove-Item -LiteralPath $data -Recurse -Force }
    }
    if ($Role -ne 'coordinator') {
        & $step "remove $acc" { Remove-Item -LiteralPath $acc -Recurse -Force }
    } else {
        # The witness keeps initial-ports.json until the ports are restored.
        & $step "remove $acc (except initial-ports.json)" {
            Get-ChildItem -LiteralPath $acc -Force | Where-Object { $_.Name -ne 'initial-ports.json' } | Remove-Item -Recurse -Force
        }
    }
    [pscustomobject]@{ Host = $env:COMPUTERNAME; Ok = $ok; Log = $said.ToArray() }
}

function Invoke-Cleanup {
    foreach ($k in @('n1', 'n2')) {
        try { [void] (Get-HostSession $k) } catch { Add-Check "remoting to $($script:H[$k].Target)" $false (Format-Error $_); return }
    }
    # Coordinator first (so it promotes nobody), then the agents: an agent
    # disables its own port when it stops.
    foreach ($k in @('w', 'n1', 'n2')) {
        $r = Invoke-Remote $k $ServiceBlock @($SERVICE, 'stop', 60) 120
        Write-Log ('[{0}] ran: stop service {1}; saw: {2}' -f $script:H[$k].Name, $SERVICE, $r.Said)
    }

    # The port rule, as first found (or node1 enabled, node2 disabled).
    $initialPath = Join-Path (Join-Path $env:ProgramData $ACC_DIR_NAME) 'initial-ports.json'
    $want = @{ n1 = 'enabled'; n2 = 'disabled' }
    $source = 'no record of the state before the first run: node1 enabled, node2 disabled'
    if (Test-Path -LiteralPath $initialPath) {
        $rec = Get-Content -Raw -LiteralPath $initialPath | ConvertFrom-Json
        foreach ($k in @('n1', 'n2')) {
            $name = "$(Get-AccValue $rec @($k))"
            $state = "$(Get-AccValue $rec @($k + 'State'))"
            $key = Get-KeyOf $name
            if ($key) { $want[$key] = $(if ($state -eq 'enabled') { 'enabled' } else { 'disabled' }) }
        }
        $source = "as recorded in $initialPath on $($rec.recorded)"
    } elseif ($script:Initial) {
        foreach ($k in @('n1', 'n2')) { $want[$k] = $(if ($script:Initial[$k] -eq 'enabled') { 'enabled' } else { 'disabled' }) }
        $source = 'as found by step 0 of this run'
    }
    foreach ($k in @('n1', 'n2')) {
        $h = $script:H[$k]
        $r = Invoke-Remote $k {
            param($ci, $vip, $port, $want)
            $ErrorActionPreference = 'Stop'
            $ctx = Get-AccNlbContext $ci
            $before = Read-AccPortRule -Context $ctx -ClusterIp $ci -Vip $vip -Port $port
            $ran = ''
            if ($before.State -ne $want) {
                $splat = @{ Port = [uint32] $port }
                if ($before.RuleIp -and $before.RuleIp -notin @('255.255.255.255', 'All')) { $splat.IP = $before.RuleIp }
                if ($ctx.Interface) { $splat.InterfaceName = $ctx.Interface }
                if ($want -eq 'enabled') { Enable-NlbClusterPortRule @splat | Out-Null; $ran = 'Enable-NlbClusterPortRule' }
                else { Disable-NlbClusterPortRule @splat | Out-Null; $ran = 'Disable-NlbClusterPortRule' }
                $ran += ' ' + (@($splat.GetEnumerator() | ForEach-Object { '-{0} {1}' -f $_.Key, $_.Value }) -join ' ')
            }
            $after = Read-AccPortRule -Context $ctx -ClusterIp $ci -Vip $vip -Port $port
            [pscustomobject]@{ Before = $before.State; After = $after.State; Ran = $ran; Field = $after.Field }
        } @($ClusterIp, $Vip, $Port, $want[$k]) 120
        Add-Check ('the port rule on {0} is back to {1}' -f $h.Name, $want[$k]) ($r.After -eq $want[$k]) `
        ('{0}; before: {1}, after: {2} (Get-NlbClusterPortRule .{3}); {4}' -f $source, $r.Before, $r.After, $r.Field, $(if ($r.Ran) { 'ran ' + $r.Ran } else { 'nothing to do' }))
    }
    $enabledCount = @($want.Values | Where-Object { $_ -eq 'enabled' }).Count
    if ($enabledCount -ne 1) { Add-Info 'note' "the state restored has the port enabled on $enabledCount nodes, as it was found before the first run" }

    foreach ($k in @('n1', 'n2', 'w')) {
        $role = if ($k -eq 'w') { 'coordinator' } else { 'agent' }
        $r = Invoke-Remote $k $UninstallBlock @($role) 600
        Add-Check ('{0}: services, firewall rule, tasks and files removed' -f $script:H[$k].Name) ([bool] $r.Ok) (@($r.Log) -join "`n")
    }
    if (@($script:Current.Checks | Where-Object { $_.Result -eq 'FAIL' }).Count -eq 0 -and (Test-Path -LiteralPath $initialPath)) {
        Remove-Item -LiteralPath (Split-Path -Parent $initialPath) -Recurse -Force
        Write-Log "removed $(Split-Path -Parent $initialPath)"
    }
}

# ---- main -----------------------------------------------------------------------

if (-not $ResultsDir) {
    $ResultsDir = Join-Path ([Environment]::GetFolderPath('MyDocuments')) ('nlbctl-acceptance\' + (Get-Date -Format 'yyyyMMdd-HHmmss'))
}
New-Item -ItemType Directory -Force -Path $ResultsDir | Out-Null
$PackageDir = (Resolve-Path -LiteralPath $PackageDir).Path
$script:Psk = $Key
$script:AppName = if ($AppService) { $AppService } else { $STANDIN_SERVICE }
$script:Initial = $null
$script:InstallMethod = 'copy'
$script:InstallerName = ''
$script:StandinPath = ''
$script:SipMonitor = [bool] $Node1SipAddress -and [bool] $Node2SipAddress   # [sip_monitor] in the coordinator's config
& $NodeLib   # the same helpers on the witness
$script:H.w.Nlbctl = Join-Path $env:ProgramFiles 'nlbctl\nlbctl.exe'

$transcript = Join-Path $ResultsDir 'transcript.txt'
Start-Transcript -Path $transcript | Out-Null
$exitCode = 0
try {
    Write-Log ('nlbctl acceptance test: nodes {0} and {1}, witness {2}, cluster {3}, rule {4}:{5}, package {6}' -f $Node1, $Node2, $env:COMPUTERNAME, $ClusterIp, $Vip, $Port, $PackageDir)
    Write-Log "results in $ResultsDir"
    if (-not $script:Psk) {
        $bytes = New-Object byte[] 32
        $rng = [System.Security.Cryptography.RandomNumberGenerator]::Create()
        $rng.GetBytes($bytes)
        $rng.Dispose()
        $script:Psk = -join ($bytes | ForEach-Object { $_.ToString('x2') })
        Write-Log "generated the pre-shared key: $($script:Psk)" 'Yellow'
    } else {
        Write-Log 'using the pre-shared key given with -Key'
    }
    if (-not $Force) {
        Write-Host ''
        Write-Host 'This changes the lab: it installs services, switches the NLB port rule between the nodes,' -ForegroundColor Yellow
        Write-Host 'stops the application service and disables network adapters on the nodes for a while.' -ForegroundColor Yellow
        $answer = Read-Host "Type YES to go on with $Node1 and $Node2"
        if ($answer -cne 'YES') { throw 'not confirmed; nothing was changed' }
    }

    Invoke-Step 0 'preflight' { Invoke-Preflight }
    if ($CleanupOnly) {
        foreach ($n in 1..7) { Invoke-Step -Number $n -Title "step $n" -Body { $null } -SkipReason '-CleanupOnly' }
    } else {
        Invoke-Step 1 'install and start' { Invoke-Install } -Needs 0
        Invoke-Step 2 'W1: election' { Invoke-Election } -Needs 0, 1
        Invoke-Step 3 'W1: switchover and switch back' { Invoke-SwitchoverTest } -Needs 0, 1
        Invoke-Step 4 'W2: application failure on the primary' { Invoke-AppFailure } -Needs 0, 1
        Invoke-Step 5 'W3: primary host disconnected' { Invoke-HostLoss } -Needs 0, 1
        $skip6 = ''
        if (-not $SipNicAlias) { $skip6 = 'no -SipNicAlias: W4 needs the SIP adapter to disable on the primary' }
        elseif (-not $script:SipMonitor) { $skip6 = "no -Node1SipAddress and -Node2SipAddress: without the coordinator's SIP monitoring W4 has nothing to check" }
        Invoke-Step 6 'W4/W5: SIP adapter unplugged on the primary' { Invoke-SipNicCut } -Needs 0, 1 -SkipReason $skip6
        Invoke-Step 7 'nlbctl port query against Get-NlbClusterPortRule' { Invoke-PortQuery } -Needs 0, 1
        Save-Logs
    }
    if ($Cleanup -or $CleanupOnly) {
        Invoke-Step 8 'cleanup' { Invoke-Cleanup }
    } else {
        Invoke-Step -Number 8 -Title 'cleanup' -Body { $null } -SkipReason 'not asked for: run again with -CleanupOnly to remove what was installed'
    }
} catch {
    Write-Log ('stopped: {0}' -f (Format-Error $_)) 'Red'
    $exitCode = 1
} finally {
    foreach ($k in @('n1', 'n2')) { Reset-HostSession $k }
    Write-Host ''
    Write-Log '==== summary' 'White'
    foreach ($s in $script:Steps) {
        $colour = 'Red'
        if ($s.Verdict -eq 'PASS') { $colour = 'Green' } elseif ($s.Verdict -eq 'INFO') { $colour = 'Cyan' } elseif ($s.Verdict -eq 'SKIPPED') { $colour = 'DarkGray' }
        Write-Log ('  {0,-8} step {1}: {2}{3}' -f $s.Verdict, $s.Number, $s.Title, $(if ($s.Note) { " ($($s.Note))" } else { '' })) $colour
    }
    $bad = @($script:Steps | Where-Object { $_.Verdict -in @('FAIL', 'BLOCKED') }).Count
    if ($bad -gt 0) { $exitCode = $bad }
    $summary = @($script:Steps | ForEach-Object {
            [pscustomobject]@{ step = $_.Number; title = $_.Title; verdict = $_.Verdict; note = $_.Note; seconds = $_.Seconds; checks = @($_.Checks) }
        })
    $summary | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath (Join-Path $ResultsDir 'results.json') -Encoding UTF8
    Write-Log ('exit code {0} (steps failed or blocked); transcript {1}' -f $exitCode, $transcript)
    Stop-Transcript | Out-Null
}
exit $exitCode
