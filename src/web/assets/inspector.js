// floe's inspector page: subscribes to the inspector server and feeds the actor view.
import { ActorView } from './actor-view.js';

const view = new ActorView(document.getElementById('inspector'));
const status = document.getElementById('connection');

function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/viewer`);
  ws.onopen = () => (status.textContent = 'connected');
  ws.onmessage = (message) => {
    const record = JSON.parse(message.data);
    if (record.type === 'floe.replay') record.records.forEach((r) => view.add(r));
    else view.add(record);
  };
  ws.onclose = () => {
    status.textContent = 'disconnected, retrying';
    setTimeout(connect, 1000);
  };
}
connect();
