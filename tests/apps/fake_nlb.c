/* fake_nlb.c - a stand-in for nlb.exe, for the exec backend's tests:
 *
 *   fake_nlb.exe enable|disable|drain|queryport <vip>:<port>
 *
 * The rule's state (enabled, disabled or draining) lives in the file named
 * by FAKE_NLB_STATE; no file is a rule that does not exist. FAKE_NLB_MODE
 * steers it:
 *   ok       (default) does what it is told
 *   fail     prints an error on stderr, exits 3, changes nothing
 *   garbage  prints 8 KiB of random-looking bytes with no letters, exits 0
 *            (commands still change the state; a query names no state)
 *   hang     writes its process id to "<FAKE_NLB_STATE>.pid", then sleeps forever
 *   ignore   says it did it, exits 0, changes nothing */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

int main(int argc, char **argv)
{
    const char *state_file = getenv("FAKE_NLB_STATE");
    const char *mode = getenv("FAKE_NLB_MODE");
    if (!mode || !mode[0])
        mode = "ok";
    if (argc != 3 || !state_file || !state_file[0]) {
        fprintf(stderr, "usage: FAKE_NLB_STATE=file fake_nlb enable|disable|drain|queryport "
                        "<vip>:<port>\n");
        return 2;
    }
    const char *cmd = argv[1];
    const char *port = strrchr(argv[2], ':');
    port = port ? port + 1 : argv[2];
    const char *word = strcmp(cmd, "enable") == 0    ? "enabled"
                       : strcmp(cmd, "disable") == 0 ? "disabled"
                       : strcmp(cmd, "drain") == 0   ? "draining"
                                                     : NULL;
    if (!word && strcmp(cmd, "queryport") != 0) {
        fprintf(stderr, "fake_nlb: unknown command '%s'\n", cmd);
        return 2;
    }
    printf("Fake NLB Cluster Control Utility (test stand-in)\n");

    if (strcmp(mode, "hang") == 0) {
        char pid_file[MAX_PATH];
        snprintf(pid_file, sizeof pid_file, "%s.pid", state_file);
        FILE *f = fopen(pid_file, "w");
        if (f) {
            fprintf(f, "%lu\n", (unsigned long)GetCurrentProcessId());
            fclose(f);
        }
        printf("Working...\n");
        fflush(stdout);
        Sleep(INFINITE);
    }
    if (strcmp(mode, "fail") == 0) {
        fprintf(stderr, "Error: the NLB driver did not answer (fake failure)\n");
        return 3;
    }
    if (strcmp(mode, "garbage") == 0) {
        unsigned x = GetCurrentProcessId() * 2654435761u + GetTickCount();
        for (int i = 0; i < 8192; i++) {
            x = x * 1103515245u + 12345u;
            int c = (int)((x >> 16) & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
                c = '#';
            putchar(c ? c : ' ');
        }
        putchar('\n');
    }

    if (word) {
        if (strcmp(mode, "ignore") != 0) {
            FILE *f = fopen(state_file, "wb");
            if (!f) {
                fprintf(stderr, "fake_nlb: cannot write %s\n", state_file);
                return 4;
            }
            fprintf(f, "%s\n", word);
            fclose(f);
        }
        if (strcmp(mode, "garbage") != 0)
            printf("Port rule %s %s.\n", port, word);
        return 0;
    }

    if (strcmp(mode, "garbage") == 0)
        return 0;
    char state[32] = "";
    FILE *f = fopen(state_file, "r");
    if (!f || !fgets(state, sizeof state, f)) {
        printf("Port %s not found in any port rule of cluster %.*s.\n", port,
               (int)(port - 1 - argv[2] > 0 ? port - 1 - argv[2] : 0), argv[2]);
        if (f)
            fclose(f);
        return 0;
    }
    fclose(f);
    state[strcspn(state, "\r\n")] = '\0';
    if (state[0])
        state[0] = (char)(state[0] - 'a' + 'A');
    printf("Retrieving state for port rule %s\nRule state: %s\nPackets: Accepted=0, Dropped=0\n",
           port, state);
    return 0;
}
