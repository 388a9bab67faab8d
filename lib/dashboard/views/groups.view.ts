import type { GroupStatus } from '../../core/canvas/group-store.js';
import { html, type Raw, time } from './html.js';
import { badge, type PageContext, tableOf } from './layout.js';

/**
 * A group or chord id: a link to its group page when the dashboard has a group store
 * (`linked`), plain text otherwise (no link to a page that could only say "no group store").
 */
export function groupLink(ctx: PageContext, id: string, linked: boolean): Raw {
  return linked ? html`<a href="${ctx.base}/groups/${encodeURIComponent(id)}" data-testid="group-link">${id}</a>` : html`${id}`;
}

/**
 * The group page: the group as the group store holds it (counts, times, chord state) and one
 * row per member slot; `null` shows that the group is unknown or expired. Shows no payload or
 * error of a member (those are on the member's task page, redacted there).
 */
export function groupView(ctx: PageContext, id: string, group: GroupStatus | null): Raw {
  if (!group) return html`<p class="empty" data-testid="no-group">No group ${id} (unknown or expired).</p>`;
  const chord = group.chordDispatched
    ? html`dispatched by ${taskLink(ctx, group.chordClaimedBy)}`
    : group.chordClaimedBy
      ? html`claimed by ${taskLink(ctx, group.chordClaimedBy)} until ${time(group.chordClaimExpiresAt)}`
      : 'not claimed';
  const rows = group.results.map((slot, index) =>
    slot
      ? html`<tr data-member="${index}">
          <td class="num">${index}</td>
          <td>${badge(slot.state)}</td>
          <td>${taskLink(ctx, slot.taskId)}</td>
          <td>${time(slot.completedAt)}</td>
        </tr>`
      : html`<tr data-member="${index}">
          <td class="num">${index}</td>
          <td>${badge('pending')}</td>
          <td>—</td>
          <td>—</td>
        </tr>`,
  );
  return html` <dl class="facts" data-testid="group">
      <dt>Id</dt>
      <dd>${group.id}</dd>
      <dt>Members</dt>
      <dd data-field="expected">${group.expected}</dd>
      <dt>Completed</dt>
      <dd data-field="completed">${group.completed}</dd>
      <dt>Failed</dt>
      <dd data-field="failed">${group.failed}</dd>
      <dt>Complete</dt>
      <dd data-field="complete">${group.isComplete ? 'yes' : 'no'}</dd>
      <dt>Created</dt>
      <dd>${time(group.createdAt)}</dd>
      <dt>Expires</dt>
      <dd>${time(group.expiresAt)}</dd>
      <dt>Chord</dt>
      <dd data-field="chord">${chord}</dd>
    </dl>
    ${tableOf(['#', 'State', 'Task', 'Completed'], rows, 'No members.', 'members')}`;
}

function taskLink(ctx: PageContext, taskId: string | undefined): Raw {
  return taskId ? html`<a href="${ctx.base}/tasks/${encodeURIComponent(taskId)}">${taskId}</a>` : html`—`;
}
