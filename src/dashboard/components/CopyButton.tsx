/** Copies a text to the clipboard and says so; where the clipboard is refused, selects the text instead. */
import { useState } from 'preact/hooks';
import { detached } from '../hooks.ts';

export function CopyButton({ text, label = 'Copy', targetId }: { readonly text: string; readonly label?: string; readonly targetId?: string }) {
  const [done, setDone] = useState<'copied' | 'select' | null>(null);
  const copy = () => {
    // navigator.clipboard is absent outside a secure context (plain HTTP to another host).
    const written = typeof navigator.clipboard?.writeText === 'function' ? navigator.clipboard.writeText(text) : Promise.reject(new Error('no clipboard'));
    detached(
      written.then(
        () => setDone('copied'),
        () => {
          // No clipboard (plain HTTP on another host, or refused): select it for Ctrl-C.
          const target = targetId ? document.getElementById(targetId) : null;
          if (target) window.getSelection()?.selectAllChildren(target);
          setDone('select');
        },
      ),
    );
  };
  return (
    <button type="button" class="secondary" onClick={copy}>
      {done === 'copied' ? 'Copied' : done === 'select' ? 'Selected: press Ctrl-C' : label}
    </button>
  );
}
