// Vessel's web console: the instance list, start/stop/delete, launch, and a console tab (a shell
// through exec over WebSocket, with xterm.js). It talks to the same REST API as `vessel`, on the
// same origin: the browser's client certificate is what makes it trusted.
'use strict';

const api = async (method, path, body) => {
    const response = await fetch(path, {
        method,
        headers: body ? {'Content-Type': 'application/json'} : {},
        body: body ? JSON.stringify(body) : undefined,
    });
    const answer = await response.json();
    if (answer.type === 'error') throw new Error(answer.error);
    if (answer.type === 'async') {
        const done = await api('GET', `${answer.operation}/wait?timeout=120`);
        if (done.status === 'failure') throw new Error(done.err);
        return done;
    }
    return answer.metadata;
};

const status = (text) => {
    document.getElementById('status').textContent = text;
};
const element = (tag, text, className) => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
};

async function refresh() {
    const instances = await api('GET', '/1.0/instances?recursion=1');
    const body = document.querySelector('#instances tbody');
    body.replaceChildren();
    for (const instance of instances) {
        const row = element('tr');
        row.dataset.name = instance.name;
        row.append(
            element('td', instance.name), element('td', instance.status, instance.status),
            element('td', (instance.ipv4 || []).join(', ')), element('td', instance.type));
        const actions = element('td');
        const running = instance.status === 'running';
        const button = (label, handler) => {
            const node = element('button', label);
            node.dataset.action = label.toLowerCase();
            node.addEventListener('click', async () => {
                status(`${label} ${instance.name}...`);
                try {
                    await handler();
                    status('');
                } catch (error) {
                    status(error.message);
                }
                await refresh();
            });
            actions.append(node);
        };
        if (running) {
            button(
                'Stop',
                () => api(
                    'PUT', `/1.0/instances/${instance.name}/state`, {action: 'stop', timeout: 10}));
            button('Console', async () => openConsole(instance.name));
        } else {
            button(
                'Start',
                () => api('PUT', `/1.0/instances/${instance.name}/state`, {action: 'start'}));
            button('Delete', () => api('DELETE', `/1.0/instances/${instance.name}`));
        }
        row.append(actions);
        body.append(row);
    }
}

let session = null;

function openConsole(name) {
    closeConsole();
    document.getElementById('console-name').textContent = name;
    document.getElementById('console-view').hidden = false;
    const terminal = new Terminal({cols: 100, rows: 25, convertEol: false});
    const host = document.getElementById('terminal');
    host.replaceChildren();
    terminal.open(host);
    const query = new URLSearchParams({
        command: JSON.stringify(['sh']),
        interactive: '1',
        width: String(terminal.cols),
        height: String(terminal.rows),
    });
    const url = `wss://${location.host}/1.0/instances/${name}/exec?${query}`;
    const encoder = new TextEncoder();
    const current = {terminal, socket: null};
    // A connection that fails before it opens is tried again, a few times: the browser drops the
    // connections in progress when the host's network changes, as starting an instance does.
    const connect = (attemptsLeft) => {
        const socket = new WebSocket(url);
        socket.binaryType = 'arraybuffer';
        let opened = false;
        socket.onopen = () => {
            opened = true;
        };
        socket.onmessage = (event) => {
            if (typeof event.data === 'string') {
                const message = JSON.parse(event.data);
                if (message.type === 'exit')
                    terminal.write(`\r\n[exited with ${message.code ?? message.signal}]\r\n`);
                if (message.type === 'error') terminal.write(`\r\n[${message.error}]\r\n`);
                return;
            }
            terminal.write(new Uint8Array(event.data));
        };
        socket.onclose = () => {
            if (session !== current || current.socket !== socket) return;
            if (!opened && attemptsLeft > 0) {
                setTimeout(() => {
                    if (session === current) current.socket = connect(attemptsLeft - 1);
                }, 500);
                return;
            }
            host.dataset.closed = '1';
        };
        return socket;
    };
    current.socket = connect(3);
    terminal.onData((data) => {
        if (current.socket.readyState === WebSocket.OPEN) current.socket.send(encoder.encode(data));
    });
    terminal.onResize(({cols, rows}) => {
        if (current.socket.readyState === WebSocket.OPEN)
            current.socket.send(JSON.stringify({type: 'resize', width: cols, height: rows}));
    });
    terminal.focus();
    session = current;
    window.vesselTerminal = terminal;  // for the browser test: the rendered buffer's text
}

function closeConsole() {
    if (!session) return;
    session.socket.close();
    session.terminal.dispose();
    session = null;
    document.getElementById('console-view').hidden = true;
}

document.getElementById('console-close').addEventListener('click', closeConsole);
document.getElementById('launch').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    status(`Launching ${form.get('name')}...`);
    try {
        await api('POST', '/1.0/instances', {
            name: form.get('name'),
            source: {alias: form.get('image')},
            type: form.get('type'),
        });
        status('');
    } catch (error) {
        status(error.message);
    }
    await refresh();
});

api('GET', '/1.0').then((server) => {
    document.getElementById('server').textContent =
        `${location.host} · certificate ${server.environment.certificate_fingerprint.slice(0, 12)}`;
});
refresh().catch((error) => status(error.message));
setInterval(() => refresh().catch(() => {}), 5000);
