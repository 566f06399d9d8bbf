// Asks for the server's access token (NETCANVAS_TOKEN) when the API answers 401; the client keeps it.
import { useState } from "react";
import { submitToken, useAuth } from "../api/client";

export function TokenDialog() {
  const asking = useAuth((s) => s.asking);
  const refused = useAuth((s) => s.refused);
  const [token, setToken] = useState("");
  if (!asking) return null;
  return (
    <div className="modal-backdrop">
      <form
        className="modal token-dialog"
        data-testid="token-dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (!token.trim()) return;
          submitToken(token);
          setToken("");
        }}
      >
        <div className="modal-head">
          <h2>Access token</h2>
        </div>
        <p className={refused ? "error" : "muted"} data-testid="token-message">
          {refused
            ? "The server refused that token. Enter the right one."
            : "This NetCanvas server needs an access token: the value of NETCANVAS_TOKEN where it runs."}
        </p>
        <div className="modal-row">
          <input
            type="password"
            autoFocus
            autoComplete="current-password"
            placeholder="token"
            aria-label="access token"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            data-testid="token-input"
          />
          <button type="submit" disabled={!token.trim()} data-testid="token-submit">
            Continue
          </button>
        </div>
      </form>
    </div>
  );
}
