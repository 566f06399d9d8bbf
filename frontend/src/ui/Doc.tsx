// A docstring as readable text: hard-wrapped lines joined, blank lines as paragraphs, `code` as code.
import { Fragment } from "react";

export function Doc({ text, className = "doc" }: { text: string; className?: string }) {
  const paragraphs = text
    .trim()
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s*\n\s*/g, " "));
  return (
    <div className={className}>
      {paragraphs.map((p, i) => (
        <p key={i}>
          {p.split(/(`[^`]+`)/).map((part, j) =>
            part.startsWith("`") && part.endsWith("`") && part.length > 2 ? <code key={j}>{part.slice(1, -1)}</code> : <Fragment key={j}>{part}</Fragment>,
          )}
        </p>
      ))}
    </div>
  );
}
